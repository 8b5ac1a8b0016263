"""A real ``radreview serve`` with login, a data directory holding a symlink that points outside it, and
its log captured to a file."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from bench.common import radreview_script, running_server
from tests.security.security_server import PASSWORD, UPLOAD_CAP_MB, Server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``radreview serve`` on a free loopback port with an auth file made by ``radreview user add``."""
    from app.server import free_port

    root = tmp_path_factory.mktemp("secure")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(root / "gradio-tmp"),
           "RADREVIEW_PASSWORD": PASSWORD}
    auth = root / "users.json"
    radreview = radreview_script()
    subprocess.run([radreview, "user", "add", "alice", "--auth-file", str(auth)], env=env, check=True,
                   capture_output=True, timeout=60)
    env.pop("RADREVIEW_PASSWORD")
    data_dir, outside = root / "data", root / "outside-secret.txt"
    data_dir.mkdir()
    outside.write_text("TOP-SECRET-OUTSIDE")
    (data_dir / "inside.txt").write_text("INSIDE-DATA-DIR")
    (data_dir / "link-out.txt").symlink_to(outside)
    port, log = free_port(), root / "server.log"
    cmd = [radreview, "serve", "--port", str(port), "--auth-file", str(auth), "--data-dir", str(data_dir),
           "--max-upload-mb", str(UPLOAD_CAP_MB)]
    with running_server(cmd, port, log, env, seconds=60.0) as url:
        yield Server(url, root, data_dir, outside, log)
