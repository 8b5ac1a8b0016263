"""A real ``radreview serve`` with login, a data directory holding a symlink that points outside it, and
its log captured to a file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.security_server import PASSWORD, UPLOAD_CAP_MB, Server


def _radreview() -> str:
    return str(Path(sys.executable).parent / "radreview")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"radreview serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"radreview serve not healthy after {seconds} s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``radreview serve`` on a free loopback port with an auth file made by ``radreview user add``."""
    from app.server import free_port

    root = tmp_path_factory.mktemp("secure")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(root / "gradio-tmp"),
           "RADREVIEW_PASSWORD": PASSWORD}
    auth = root / "users.json"
    subprocess.run([_radreview(), "user", "add", "alice", "--auth-file", str(auth)], env=env, check=True,
                   capture_output=True, timeout=60)
    env.pop("RADREVIEW_PASSWORD")
    data_dir, outside = root / "data", root / "outside-secret.txt"
    data_dir.mkdir()
    outside.write_text("TOP-SECRET-OUTSIDE")
    (data_dir / "inside.txt").write_text("INSIDE-DATA-DIR")
    (data_dir / "link-out.txt").symlink_to(outside)
    port, log = free_port(), root / "server.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([_radreview(), "serve", "--port", str(port), "--auth-file", str(auth),
                                 "--data-dir", str(data_dir), "--max-upload-mb", str(UPLOAD_CAP_MB)],
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield Server(url, root, data_dir, outside, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
