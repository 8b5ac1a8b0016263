"""The HTTP server: Gradio workspace mounted on FastAPI, ``/healthz``, login policy, error page.

Policy: binding beyond loopback requires an auth file (reviewers log in); on loopback login is
optional (without an auth file every action is recorded under the local default reviewer).
If the database or data directory is unusable, the server still starts and answers every page with
an explanation (HTTP 503) instead of a traceback, and ``/healthz`` says what is wrong.
"""

from __future__ import annotations

import html
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services import Services

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (an empty host or 0.0.0.0 is not loopback)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_data_dir(data_dir: Path) -> str | None:
    """``None`` when ``data_dir`` exists (or can be created) and is writable, else the reason."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # PHI: owner only
        probe = data_dir / ".radreview-write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return f"data directory {data_dir} is not usable ({exc.strerror or exc}); pass a writable --data-dir"
    return None


@dataclass(frozen=True)
class ServerConfig:
    """How to serve: host/port/root path, upload cap, auth."""

    host: str = "127.0.0.1"
    port: int = 7860
    root_path: str = ""
    max_upload_mb: int = 1024
    auth: Any = None  # app.auth.AuthFile or None


def _health(problem: str | None, services: Services | None) -> tuple[int, dict[str, Any]]:
    from app import __version__

    body: dict[str, Any] = {"status": "ok" if problem is None else "error", "version": __version__}
    if problem is not None:
        body["error"] = problem
        return 503, body
    try:
        body["studies"] = len(services.repo.list_studies()) if services else 0
    except Exception as exc:  # the database went away after start: report, do not crash
        return 503, {**body, "status": "error", "error": f"database query failed: {exc}"}
    body["generator"] = services.generator.label() if services else ""
    return 200, body


def error_page(problem: str) -> str:
    """The HTML shown on every route when the server cannot work."""
    return (
        "<!doctype html><html><head><title>radreview: cannot start</title></head>"
        "<body style='font-family:sans-serif;max-width:50em;margin:3em auto'>"
        "<h1>radreview cannot open its storage</h1>"
        f"<p style='color:#b00'>{html.escape(problem)}</p>"
        "<p>Fix the path or URL and restart <code>radreview serve</code>. "
        "<code>/healthz</code> reports the same error.</p></body></html>"
    )


def create_server(services: Services | None, config: ServerConfig, problem: str | None = None) -> Any:
    """A FastAPI app serving the workspace at ``/`` and health at ``/healthz``.

    Args:
        services: The injected services; ``None`` when ``problem`` says why they could not be built.
        config: Server configuration.
        problem: A reason the storage is unusable; the app then serves :func:`error_page` everywhere.
    """
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, JSONResponse

    from app.build import assets, build_app
    from app.origin import SameOriginMiddleware

    api = FastAPI(title="radreview", docs_url=None, redoc_url=None, openapi_url=None)
    api.add_middleware(SameOriginMiddleware)

    @api.get("/healthz")
    def healthz() -> JSONResponse:
        code, body = _health(problem, services)
        return JSONResponse(body, status_code=code)

    if problem is not None or services is None:

        @api.get("/{path:path}")
        def broken(path: str) -> HTMLResponse:
            return HTMLResponse(error_page(problem or "services unavailable"), status_code=503)

        return api

    from app.pixel_routes import mount_pixel_routes
    from app.viewer_bridge import viewer_head

    mount_pixel_routes(api, services)  # before Gradio: /rr-api/* and /rr-viewer/* behind the same login
    blocks = build_app(services).queue(default_concurrency_limit=8, max_size=256)
    auth = config.auth.verify if config.auth is not None else None
    page = assets()
    page["head"] = page.get("head", "") + viewer_head()
    return gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=auth,
        auth_message="radreview — reviewer login",
        root_path=config.root_path or None,
        max_file_size=f"{config.max_upload_mb}mb",
        allowed_paths=[],
        blocked_paths=[str(services.data_dir)],
        show_error=True,
        footer_links=[],
        **page,
    )


def free_port(host: str = "127.0.0.1") -> int:
    """An unused TCP port on ``host`` (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def prepare_environment(data_dir: Path) -> None:
    """Gradio's upload/download directory in the system temp dir, one per data dir (never inside the
    data dir, which is blocked from file serving), unless ``GRADIO_TEMP_DIR`` is set; analytics off."""
    import hashlib
    import tempfile

    tag = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:10]
    os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(tempfile.gettempdir()) / f"radreview-gradio-{tag}"))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
