"""The browser viewer's HTTP routes: a study's stored values, label maps and heat maps, once.

Mounted on the FastAPI app before Gradio (:func:`mount_pixel_routes`), behind the same session as the
workspace: with an auth file, a request without Gradio's ``access-token-…`` cookie (set by ``POST
/login``) is answered 401. Only studies registered in the worklist are served, by case id (validated),
and only from inside the data directory.

Routes (all relative to the app root; the viewer gets them from :func:`app.viewer_bridge.viewer_state`):

- ``GET /rr-api/pixels/{case}/{image}/{chunk}`` — slices ``[chunk·8, chunk·8 + 8)`` of image ``image`` of
  the study as raw little-endian values *after the modality LUT* at full resolution (int16 for CT HU,
  uint16/int16 for integral radiographs, float32 otherwise; see :func:`app.pixels.stored_array`), gzip-encoded
  (``Content-Encoding: gzip``: the browser inflates it). A radiograph is one chunk of one slice. The
  viewer asks for the chunk holding the visible slice first, then the others outward from it.
- ``GET /rr-api/slice/{case}/{image}/{k}`` — one slice, gzip level 1: the viewer's very first paint (the
  only bytes sent twice: one slice of the study).
- ``GET /rr-api/labels/{case}/{key}`` — the current masks of the case's findings as one uint8 label map
  (0 background, ``n`` = the ``n``-th region of the state's ``labels.names``), gzip-encoded; ``key`` is a
  hash of the mask refs so a changed mask gets a new URL and an unchanged one comes from the cache.
- ``GET /rr-api/heat/{case}/{ref}`` — one attention map of the case, min–max scaled to uint8, gzip.
- ``GET /rr-viewer/{viewer.js|viewer.css}`` — the built front end (``frontend/dist``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.pixels import PixelError, heat_bytes, labels_bytes, pixel_chunk, pixel_slice
from app.services import Services
from viewer.cache import LruCache

API_PREFIX = "/rr-api"
ASSET_PREFIX = "/rr-viewer"
DIST = Path(__file__).resolve().parents[1] / "frontend" / "dist"
_ASSETS = {"viewer.js": "text/javascript", "viewer.js.map": "application/json", "viewer.css": "text/css"}


def gradio_app_of(api: Any) -> Any:
    """The Gradio ``App`` mounted on ``api`` (holds the login tokens), or ``None`` before mounting."""
    for route in getattr(api, "routes", ()):
        sub = getattr(route, "app", None)
        if sub is not None and hasattr(sub, "tokens") and hasattr(sub, "cookie_id"):
            return sub
    return None


def session_user(api: Any, cookies: dict[str, str]) -> str | None:
    """The reviewer logged in with these cookies (Gradio's ``access-token-{cookie_id}`` cookie, the
    ``-unsecure-`` one over plain HTTP), ``""`` when the app has no login, ``None`` when not logged in."""
    app = gradio_app_of(api)
    if app is None:
        return None
    blocks = app.get_blocks() if hasattr(app, "get_blocks") else None
    if blocks is not None and not getattr(blocks, "auth", None):
        return ""
    token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(
        f"access-token-unsecure-{app.cookie_id}"
    )
    user = app.tokens.get(token) if token else None
    return str(user) if user else None


def mount_pixel_routes(api: Any, services: Services, cache: LruCache[bytes] | None = None) -> None:
    """Add the pixel, label, heat-map and front-end routes to ``api`` (before Gradio is mounted on it).

    Args:
        api: The FastAPI app.
        services: The injected services.
        cache: Compressed-chunk cache (default: 256 chunks, about two 300-slice CTs).
    """
    from fastapi import Request
    from fastapi.responses import JSONResponse, Response

    chunks = cache if cache is not None else LruCache[bytes](max_items=256)

    def answer(request: Request, make: Callable[[], bytes], kind: str) -> Response:
        if session_user(api, dict(request.cookies)) is None:
            return JSONResponse({"error": "log in first (no reviewer session)"}, status_code=401)
        try:
            body = make()
        except PixelError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        headers = {"Content-Encoding": "gzip", "Cache-Control": "private, max-age=3600", "X-RR-Kind": kind}
        return Response(body, media_type="application/octet-stream", headers=headers)

    def pixels(request: Request, case_id: str, index: int, chunk: int) -> Response:
        return answer(request, lambda: pixel_chunk(services, chunks, case_id, index, chunk), "pixels")

    def one_slice(request: Request, case_id: str, index: int, k: int) -> Response:
        return answer(request, lambda: pixel_slice(services, chunks, case_id, index, k), "slice")

    def labels(request: Request, case_id: str, key: str) -> Response:
        return answer(request, lambda: labels_bytes(services, chunks, case_id, key), "labels")

    def heat(request: Request, case_id: str, ref: str) -> Response:
        return answer(request, lambda: heat_bytes(services, chunks, case_id, ref), "heat")

    def asset(name: str) -> Response:
        if name not in _ASSETS:
            return JSONResponse({"error": f"no viewer asset {name!r}"}, status_code=404)
        path = DIST / name
        if not path.is_file():
            return JSONResponse(
                {"error": f"{path} is missing: build the viewer (cd frontend && npm ci && npm run build; "
                          "tools/test.sh and tools/demo.sh do it)"}, status_code=404)
        return Response(path.read_bytes(), media_type=_ASSETS[name], headers={"Cache-Control": "no-cache"})

    for fn in (pixels, one_slice, labels, heat, asset):  # annotations are strings here (postponed evaluation)
        fn.__annotations__.update({"return": Response} | ({"request": Request} if fn is not asset else {}))
    api.add_api_route(API_PREFIX + "/slice/{case_id}/{index}/{k}", one_slice, methods=["GET"])
    api.add_api_route(API_PREFIX + "/pixels/{case_id}/{index}/{chunk}", pixels, methods=["GET"])
    api.add_api_route(API_PREFIX + "/labels/{case_id}/{key}", labels, methods=["GET"])
    api.add_api_route(API_PREFIX + "/heat/{case_id}/{ref}", heat, methods=["GET"])
    api.add_api_route(ASSET_PREFIX + "/{name}", asset, methods=["GET"])
