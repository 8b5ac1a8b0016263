"""A real ``radreview serve --demo`` on a free loopback port with an auth file, and a Chromium page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "alice", "correct-horse-1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


@dataclass(frozen=True)
class Server:
    """A running server: base URL, data dir and database URL."""

    url: str
    data_dir: Path
    db_url: str


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server not healthy after {timeout:.0f} s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``radreview serve --demo --auth-file F`` as a subprocess (stopped at the end)."""
    from app.auth import AuthFile
    from app.server import free_port

    root = tmp_path_factory.mktemp("e2e")
    auth = root / "users.json"
    AuthFile(auth, {}).with_user(USER, PASSWORD).save()
    data, port = root / "data", free_port()
    db_url = f"sqlite:///{root / 'rr.db'}"
    log = root / "server.log"
    env = {**os.environ, "GRADIO_TEMP_DIR": str(root / "gradio-tmp"), "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--demo",
        "--port",
        str(port),
        "--data-dir",
        str(data),
        "--db",
        db_url,
        "--auth-file",
        str(auth),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield Server(url, data, db_url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context and page at 1920×1080 (the one-screen layout's target)."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def creds() -> tuple[str, str]:
    """The reviewer login written into the server's auth file."""
    return USER, PASSWORD


@pytest.fixture(scope="session")
def shot():  # type: ignore[no-untyped-def]
    """``shot(page, name)`` saves a screenshot under test-artifacts/e2e/ (full page: it shows any scroll)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> None:  # type: ignore[no-untyped-def]
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return save
