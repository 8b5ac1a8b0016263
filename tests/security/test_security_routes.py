"""Authentication, path traversal, origin checks, upload cap and log hygiene against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.security.security_server import PASSWORD, UPLOAD_CAP_MB, Server

pytestmark = pytest.mark.server

DATA_ROUTES = ["/config", "/gradio_api/info", "/gradio_api/queue/status", "/gradio_api/upload_progress"]
REFUSED = {401, 403, 404, 405}


@contextmanager
def _login(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reply = client.post("/login", data={"username": "alice", "password": PASSWORD})
        assert reply.status_code == 200 and reply.json() == {"success": True}
        yield client


def _file_routes(server: Server) -> list[str]:
    targets = [str(server.outside), str(server.data_dir / "inside.txt"),
               str(server.data_dir / "link-out.txt"), "/etc/passwd", "../../../../etc/passwd",
               "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2Fetc%2Fpasswd",
               "//etc/passwd", str(server.root / "users.json"), "users.json", str(Path(__file__).resolve())]
    return [f"{prefix}{t}" for prefix in ("/gradio_api/file=", "/file=") for t in targets]


def _leaks(body: bytes) -> bool:
    return any(s in body for s in (b"TOP-SECRET-OUTSIDE", b"INSIDE-DATA-DIR", b"root:x:0", b"scrypt"))


def test_unauthenticated_data_routes_are_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as anon:
        for route in DATA_ROUTES:
            assert anon.get(route).status_code == 401, route
        for route in _file_routes(server):
            reply = anon.get(route)
            assert reply.status_code in REFUSED and not _leaks(reply.content), route
        upload = anon.post("/gradio_api/upload", files={"files": ("a.txt", b"x")})
        assert upload.status_code == 401
        join = anon.post("/gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": "x"})
        assert join.status_code == 401


def test_wrong_password_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reply = client.post("/login", data={"username": "alice", "password": "not-the-password"})
        assert reply.status_code == 400 and client.get("/config").status_code == 401


def test_no_route_serves_a_file_outside_gradio_cache_even_when_logged_in(server: Server) -> None:
    with _login(server) as client:
        assert client.get("/config").status_code == 200
        for route in _file_routes(server):
            reply = client.get(route)
            assert reply.status_code in REFUSED and not _leaks(reply.content), (route, reply.status_code)


def test_upload_over_the_cap_is_refused(server: Server) -> None:
    with _login(server) as client:
        small = client.post("/gradio_api/upload", files={"files": ("small.txt", b"x" * 1000)})
        assert small.status_code == 200
        big = b"\0" * (UPLOAD_CAP_MB * 1024 * 1024 + 4096)
        reply = client.post("/gradio_api/upload", files={"files": ("big.dcm", big)})
        assert reply.status_code == 413, reply.text[:200]


def test_session_cookies_are_httponly(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reply = client.post("/login", data={"username": "alice", "password": PASSWORD})
        cookies = reply.headers.get_list("set-cookie")
        assert cookies and all("HttpOnly" in c for c in cookies)


@pytest.mark.parametrize("origin", ["null", "https://evil.example"])
def test_foreign_origin_with_session_cookie_cannot_upload(server: Server, origin: str) -> None:
    with _login(server) as client:
        reply = client.post("/gradio_api/upload", files={"files": ("a.txt", b"csrf")},
                            headers={"Origin": origin})
        assert reply.status_code in {401, 403}


@pytest.mark.parametrize("origin", ["null", "https://evil.example"])
def test_foreign_origin_gets_no_cors_grant(server: Server, origin: str) -> None:
    """A foreign page may not read responses: no Access-Control-Allow-Origin for it."""
    with _login(server) as client:
        reply = client.get("/config", headers={"Origin": origin})
        allowed = reply.headers.get("access-control-allow-origin")
        assert allowed not in {origin, "*"}


def test_secrets_never_reach_the_server_log(server: Server) -> None:
    with _login(server) as client:
        token = "".join(client.cookies.values())
        client.get("/config")
        client.post("/login", data={"username": "alice", "password": "wrong-" + PASSWORD})
    log = server.log.read_text(errors="replace")
    assert "login required" in log  # the log is the one the server writes
    assert PASSWORD not in log and token and token not in log
    for value in client.cookies.values():
        assert value not in log
