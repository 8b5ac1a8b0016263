"""The seam between the Gradio workspace and the client-side viewer (issue 12).

The browser viewer (``frontend/``, served as ``rr-viewer/viewer.js``) renders the study itself: it
fetches pixels, label maps and heat maps once over the authenticated routes of :mod:`app.pixel_routes`
and runs scroll, window/level, planes, overlays, zoom/pan, ruler, cine and the probe/box/brush tools
client-side.
The Gradio side talks to it through three hidden components made by :func:`viewer_components`:

- ``#rr-viewer-state`` (Python → JS): the JSON text of :func:`viewer_state`, re-sent whenever the review
  view changes (case opened, finding selected, any action stored). The viewer watches it and redraws
  without refetching pixels it already has. Every call carries a fresh ``rev`` so the text always
  changes (the viewer also uses that to know its last event was handled).
- ``#rr-viewer-event`` + ``#rr-viewer-event-btn`` (JS → Python): the viewer writes one JSON event and
  clicks the button; the handler that :func:`wire` attaches stores it as an action, then calls the
  workspace's ``refresh``. The viewer sends one event at a time (the next after the state changed).

The events the viewer sends and how each becomes an action: :mod:`app.viewer_events`.

Wiring (what the workspace calls): ``wire(gr, services, components, inputs, outputs, refresh)`` attaches
``handler(request, event_text, *input_values)`` to ``event_btn.click`` with ``[event] + inputs`` as inputs
and ``outputs`` as outputs; after storing the event (or showing ``gr.Warning`` with the reason when it
could not be stored) it returns ``refresh(*input_values)``, which must return the values for ``outputs``
(among them the new :func:`viewer_state` text for ``components["state"]``). The reviewer is the logged-in
user (``request.username``), else ``services.default_reviewer``.

The page must also load the viewer's script and styles: :func:`viewer_head` (added to the ``head`` that
``app.server`` passes to Gradio).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from app.viewer_events import BridgeError, handle_event, parse_event

if TYPE_CHECKING:
    from app.services import Services
    from viewer.records import Image

VIEWER_HOST_ID = "rr-viewer"
STATE_ID = "rr-viewer-state"
EVENT_ID = "rr-viewer-event"
EVENT_BUTTON_ID = "rr-viewer-event-btn"
_HOST_HTML = (
    f'<div id="{VIEWER_HOST_ID}-canvas" class="rr-viewer-host">'
    '<noscript>the viewer needs JavaScript</noscript></div>'
)


def viewer_head() -> str:
    """The ``<head>`` tags that load the built viewer (relative URLs, so a root path works)."""
    return (
        '<link rel="stylesheet" href="rr-viewer/viewer.css">'
        '<script defer src="rr-viewer/viewer.js"></script>'
    )


def viewer_components(gr: Any) -> dict[str, Any]:
    """Create the viewer host and its hidden bridge components inside the current Blocks context.

    Returns:
        ``{"host": gr.HTML, "state": gr.Textbox, "event": gr.Textbox, "event_btn": gr.Button}``.
    """
    return {
        "host": gr.HTML(_HOST_HTML, elem_id=VIEWER_HOST_ID),
        "state": gr.Textbox("", elem_id=STATE_ID, elem_classes=["rr-hidden"], show_label=False),
        "event": gr.Textbox("", elem_id=EVENT_ID, elem_classes=["rr-hidden"], show_label=False),
        "event_btn": gr.Button("viewer event", elem_id=EVENT_BUTTON_ID, elem_classes=["rr-hidden"]),
    }


# ---------------------------------------------------------------------------------------------- state


def _presets(image: Any, kind: str) -> list[dict[str, Any]]:
    from viewer.windowing import auto_window, window_for

    out: list[dict[str, Any]] = []
    if kind == "ct" and image.is_volume:
        from viewer.presets import PRESETS

        out = [{"name": p.name, "center": p.center, "width": p.width} for p in PRESETS]
    if image.default_window is not None:
        w = window_for(image)
        out.insert(0, {"name": "file", "center": w.center, "width": w.width})
    if not (kind == "ct" and image.is_volume):
        w = auto_window(image.pixels)
        out.append({"name": "auto", "center": w.center, "width": w.width})
    return out


def image_entry(services: Services, case_id: str, index: int, image: Image, kind: str) -> dict[str, Any]:
    """What the viewer needs to fetch and show one image (see :mod:`app.pixels`)."""
    from app.pixel_routes import API_PREFIX
    from app.pixels import CHUNK_SLICES, chunk_count, stored_for
    from viewer.windowing import window_for

    stored = stored_for(services, image)
    shape = list(stored.array.shape)
    window = window_for(image, "soft tissue" if kind == "ct" and image.is_volume and not image.default_window
                        else None)
    return {
        "index": index,
        "shape": shape,
        "ndim": image.pixels.ndim,
        "dtype": stored.dtype,
        "spacing": list(image.spacing_mm) if image.spacing_mm else None,
        "modality": image.modality,
        "photometric": image.photometric,
        "invert": image.photometric.upper() == "MONOCHROME1",
        "view": image.view,
        "unit": "HU" if image.modality == "CT" else "",
        "range": [stored.vmin, stored.vmax],
        "window": {"center": window.center, "width": window.width, "name": window.name},
        "presets": _presets(image, kind),
        "chunk": CHUNK_SLICES,
        "chunks": chunk_count(shape[0]),
        "url": f"{API_PREFIX.lstrip('/')}/pixels/{case_id}/{index}/",
        "slice_url": f"{API_PREFIX.lstrip('/')}/slice/{case_id}/{index}/",
    }


def _phrase_entry(case_id: str, phrase: Any) -> dict[str, Any]:
    from app.pixel_routes import API_PREFIX

    g = phrase.grounding
    return {
        "text": phrase.text,
        "boxes": [list(b) for b in g.boxes] if g is not None else [],
        "mask": g.mask_ref if g is not None else None,
        "heat": f"{API_PREFIX.lstrip('/')}/heat/{case_id}/{g.attention_ref}"
        if g is not None and g.attention_ref
        else None,
    }


def _focus(services: Any, image: Any, fs: Any, phrase: int | None) -> list[float] | None:
    from app.callbacks.viewer import finding_centre

    try:
        centre = finding_centre(services, image, fs, phrase)
    except (ValueError, KeyError, OSError):
        return None
    return [float(v) for v in centre] if centre is not None else None


def viewer_state(
    services: Any, case_id: str, selected: str | None, view: dict[str, Any] | None = None
) -> str:
    """The JSON text the browser viewer loads from (see module docstring); ``""`` when no case is open.

    Args:
        services: The injected services.
        case_id: The open case, or ``""``.
        selected: The selected finding id, if any.
        view: ``{"plane", "slice", "phrase"}`` requested by the address bar or a jump-to-finding, if any
            (``slice`` is the 0-based index along the plane's normal, in array order). The viewer applies
            it when it differs from the last one it applied, so pass it on page load (restore) or an
            explicit jump only — not on every refresh, or a late refresh would pull a scrolling reader
            back. Selecting another finding jumps to its ``focus`` by itself.
    """
    from app.callbacks.review import review_state
    from app.pixel_routes import API_PREFIX
    from app.pixels import label_names, labels_key, mask_refs
    from viewer.colors import region_color

    if not case_id:
        return ""
    study = services.study(case_id)
    state = review_state(services, case_id)
    images = [  # cached: the presets' auto window is a percentile over every pixel (ms per decision)
        services.artefacts.get_or_create(
            ("viewer-entry", case_id, i, im.sha256),
            lambda i=i, im=im: image_entry(services, case_id, i, im, study.kind),
        )
        for i, im in enumerate(study.images)
    ]
    refs = mask_refs(state)
    names = label_names(refs)
    labels = None
    if refs:
        key = labels_key(refs)
        labels = {"key": key, "url": f"{API_PREFIX.lstrip('/')}/labels/{case_id}/{key}", "names": names,
                  "colors": [list(region_color(n)) for n in names]}
    findings = []
    focus = None
    phrase = (view or {}).get("phrase")
    for fs in state.findings if state is not None else ():
        f = fs.finding
        is_sel = f.id == selected
        findings.append({
            "id": f.id, "region": f.region, "text": f.text, "status": fs.status, "selected": is_sel,
            "color": list(region_color(f.region)),
            "phrases": [_phrase_entry(case_id, p) for p in f.phrases],
        })
        if is_sel:
            focus = _focus(services, study.primary, fs, phrase if isinstance(phrase, int) else None)
    body = {
        "v": 1,
        "rev": time.monotonic_ns(),
        "case": case_id,
        "draft": state.draft_id if state is not None else None,
        "kind": study.kind,
        "signed": bool(state.signed) if state is not None else False,
        "images": images,
        "labels": labels,
        "findings": findings,
        "selected": selected if any(f["selected"] for f in findings) else None,
        "focus": focus,
        "view": dict(view) if view else None,
    }
    return json.dumps(body, separators=(",", ":"))


def _reviewer(services: Any, request: Any) -> str:
    from app.services import ServiceError

    name = getattr(request, "username", None) if request is not None else None
    if name:
        return str(name)
    if services.default_reviewer:
        return str(services.default_reviewer)
    raise ServiceError("log in to edit groundings")


def wire(
    gr: Any,
    services: Any,
    components: dict[str, Any],
    inputs: Sequence[Any],
    outputs: Sequence[Any],
    refresh: Callable[..., Any],
) -> None:
    """Attach the viewer-event handler: store the event as an action, then ``refresh`` the review view.

    Args:
        gr: The gradio module.
        services: The injected services.
        components: What :func:`viewer_components` returned.
        inputs: Session-state components ``refresh`` needs (passed to it unchanged).
        outputs: The review view's outputs, updated by ``refresh``.
        refresh: ``refresh(*input_values)`` → the values of ``outputs`` after the event is stored.
    """
    from app.services import ServiceError

    def on_event(request: Any, event_text: str, *values: Any) -> Any:
        # ``request`` first: Gradio inserts a gr.Request argument at its position in the signature
        try:
            handle_event(services, _reviewer(services, request), parse_event(event_text))
        except (BridgeError, ServiceError) as exc:
            gr.Warning(str(exc))
        return refresh(*values)

    on_event.__annotations__["request"] = gr.Request
    components["event_btn"].click(
        on_event, [components["event"], *inputs], list(outputs), queue=True, trigger_mode="multiple",
        show_progress="hidden",
    )


def standalone_app(services: Services, auth: list[tuple[str, str]] | None = None) -> Any:
    """A FastAPI app with the pixel routes and a bare page holding only the viewer, a case box
    (``#rr-t-case``), a finding box (``#rr-t-finding``) and an open button (``#rr-t-open``) — for the
    viewer's browser tests and ``radreview bench ui``, independent of the workspace layout."""
    import gradio as gr
    from fastapi import FastAPI

    from app.pixel_routes import mount_pixel_routes

    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    mount_pixel_routes(api, services)

    def refresh(case_id: str, finding_id: str) -> str:
        return viewer_state(services, case_id.strip(), finding_id.strip() or None)

    with gr.Blocks(title="radreview viewer") as blocks:
        with gr.Row():
            case = gr.Textbox(label="case", elem_id="rr-t-case", scale=2)
            finding = gr.Textbox(label="finding", elem_id="rr-t-finding", scale=2)
            open_btn = gr.Button("open", elem_id="rr-t-open", scale=0)
        comps = viewer_components(gr)
        open_btn.click(refresh, [case, finding], [comps["state"]], show_progress="hidden")
        wire(gr, services, comps, [case, finding], [comps["state"]], refresh)
    blocks.queue(default_concurrency_limit=8)
    return gr.mount_gradio_app(api, blocks, path="/", auth=auth, head=viewer_head(), footer_links=[])
