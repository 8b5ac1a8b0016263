"""A real ``radreview serve --demo`` on a free loopback port with an auth file, and a Chromium page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.common import running_server, serve_command

USER, PASSWORD = "alice", "correct-horse-1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


@dataclass(frozen=True)
class Server:
    """A running server: base URL, data dir and database URL."""

    url: str
    data_dir: Path
    db_url: str


def require_viewer_bundle() -> None:
    """Skip, saying how to build it, when the browser viewer is not built (every case would otherwise
    wait its full timeout for a viewer that never loads); under ``CI`` fail instead, as ``tools/test.sh``
    builds it first and a missing bundle there is a broken set-up, not a missing optional tool."""
    from app.pixel_routes import DIST

    if not (DIST / "viewer.js").is_file():
        why = (f"the browser viewer is not built ({DIST / 'viewer.js'} missing): "
               "run bash tools/build_viewer.sh (tools/test.sh does it)")
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``radreview serve --demo --auth-file F`` as a subprocess (stopped at the end)."""
    from app.auth import AuthFile
    from app.server import free_port

    require_viewer_bundle()

    root = tmp_path_factory.mktemp("e2e")
    auth = root / "users.json"
    AuthFile(auth, {}).with_user(USER, PASSWORD).save()
    data, port = root / "data", free_port()
    db_url = f"sqlite:///{root / 'rr.db'}"
    env = {**os.environ, "GRADIO_TEMP_DIR": str(root / "gradio-tmp"), "HF_HUB_OFFLINE": "1"}
    args = ["--demo", "--port", str(port), "--data-dir", str(data), "--db", db_url, "--auth-file", str(auth)]
    with running_server(serve_command(*args), port, root / "server.log", env) as url:
        yield Server(url, data, db_url)


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
