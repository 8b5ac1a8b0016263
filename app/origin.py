"""Refuse cross-origin state-changing requests (CSRF defence for cookie-authenticated reviewers).

Gradio withholds CORS headers from foreign origins, so a foreign page cannot *read* replies, but the
browser still *sends* a cross-site POST with the reviewer's session cookie. This ASGI middleware answers
403 to POST/PUT/PATCH/DELETE whose ``Origin`` header is ``null`` or names another host than the one the
request was made to (``Host``, or ``X-Forwarded-Host`` behind a reverse proxy). Requests without an
``Origin`` header (command-line clients, same-origin GETs) pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def is_cross_origin(method: str, origin: str | None, host: str | None, forwarded_host: str | None) -> bool:
    """Whether a request must be refused as cross-origin.

    Args:
        method: HTTP method.
        origin: The ``Origin`` header, if any.
        host: The ``Host`` header.
        forwarded_host: ``X-Forwarded-Host`` set by a reverse proxy, if any (first value wins).
    """
    if method.upper() not in UNSAFE_METHODS or origin is None:
        return False
    if origin.strip().lower() == "null":
        return True
    expected = (forwarded_host or host or "").split(",")[0].strip().lower()
    return urlsplit(origin.strip()).netloc.lower() != expected


class SameOriginMiddleware:
    """ASGI middleware applying :func:`is_cross_origin` to every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward the request, or answer 403 when it is a cross-origin state change."""
        if scope.get("type") == "http" and is_cross_origin(
                scope.get("method", "GET"), _header(scope, b"origin"), _header(scope, b"host"),
                _header(scope, b"x-forwarded-host")):
            body = b"cross-origin request refused"
            headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
