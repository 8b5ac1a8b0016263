"""The seam between the Gradio workspace and the client-side viewer (issue 12).

The browser viewer (``frontend/``, served as ``rr-viewer/viewer.js``) renders the study itself: it
fetches pixels, label maps and heat maps once over the authenticated routes of :mod:`app.pixels` and runs
scroll, window/level, planes, overlays, zoom/pan, ruler, cine and the probe/box/brush tools client-side.
The Gradio side talks to it through three hidden components made by :func:`viewer_components`:

- ``#rr-viewer-state`` (Python → JS): the JSON text of :func:`viewer_state`, re-sent whenever the review
  view changes (case opened, finding selected, any action stored). The viewer watches it and redraws
  without refetching pixels it already has. Every call carries a fresh ``rev`` so the text always
  changes (the viewer also uses that to know its last event was handled).
- ``#rr-viewer-event`` + ``#rr-viewer-event-btn`` (JS → Python): the viewer writes one JSON event and
  clicks the button; the handler that :func:`wire` attaches stores it as an action, then calls the
  workspace's ``refresh``. The viewer sends one event at a time (the next after the state changed).

Events (one JSON object; boxes normalised as in DESIGN §2 — 2D ``[x0, y0, x1, y1]`` of the original
image, 3D ``[x0, y0, z0, x1, y1, z1]`` of the canonical SPL volume, x ↔ axis 2, y ↔ axis 1, z ↔ axis 0):

- ``{"type": "move_box", "case", "finding", "phrase": int | null, "box": [...]}`` → one ``move_box``
  (:func:`app.callbacks.review.move_box`; the phrase's boxes become this one box).
- ``{"type": "edit_mask", "case", "finding", "phrase": int | null, "plane": "axial|coronal|sagittal|image",
  "index": int, "mode": "paint|erase", "shape": [rows, cols], "rle": [n0, n1, …]}`` → one ``edit_mask``:
  the stroke (run lengths over the C-ordered cut ``[i, j]`` axial, ``[k, j]`` coronal, ``[k, i]``
  sagittal, ``[row, col]`` 2D — array order, no display flips — alternating 0-runs and 1-runs, starting
  with a 0-run) is OR-ed into (paint) or cleared from (erase) the phrase's current mask (an empty mask
  when it has none); the new mask is stored (:func:`app.callbacks.grounding.store_mask`) and the phrase
  pointed at it (:func:`app.callbacks.review.replace_mask`).
- ``{"type": "undo", "case"}`` → the last ``move_box``/``edit_mask`` of this reviewer on this case that
  is not itself an undo and not yet undone is reverted by appending an action of the same kind whose
  ``after_grounding`` is that action's ``before_grounding`` (comment ``undo of action #N``). Nothing is
  overwritten. A phrase that had no grounding gets an empty reviewer grounding.

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
from typing import Any

import numpy as np

VIEWER_HOST_ID = "rr-viewer"
STATE_ID = "rr-viewer-state"
EVENT_ID = "rr-viewer-event"
EVENT_BUTTON_ID = "rr-viewer-event-btn"
UNDO_PREFIX = "undo of action #"
_NORMAL = {"axial": 0, "coronal": 1, "sagittal": 2}
_HOST_HTML = (
    f'<div id="{VIEWER_HOST_ID}-canvas" class="rr-viewer-host">'
    '<noscript>the viewer needs JavaScript</noscript></div>'
)


class BridgeError(ValueError):
    """A viewer event that cannot be stored; the message says why (shown to the reviewer)."""


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


def image_entry(services: Any, case_id: str, index: int, image: Any, kind: str) -> dict[str, Any]:
    """What the viewer needs to fetch and show one image (see :mod:`app.pixels`)."""
    from app.pixels import API_PREFIX, CHUNK_SLICES, chunk_count, stored_for
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
    from app.pixels import API_PREFIX

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
    from app.pixels import API_PREFIX, label_names, labels_key, mask_refs
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


# --------------------------------------------------------------------------------------------- events


def decode_rle(runs: Sequence[int], shape: tuple[int, int]) -> np.ndarray:
    """A boolean ``shape`` array from alternating 0/1 run lengths (starting with a 0-run).

    Raises:
        BridgeError: negative runs or a total that is not ``rows × cols``.
    """
    counts = np.asarray([int(r) for r in runs], dtype=np.int64)
    size = int(shape[0]) * int(shape[1])
    if (counts < 0).any() or int(counts.sum()) != size:
        raise BridgeError(f"brush stroke: run lengths sum to {int(counts.sum())}, expected {size} "
                          f"for a {shape[0]}×{shape[1]} slice")
    values = np.arange(counts.size) % 2 == 1
    return np.repeat(values, counts).reshape(shape)


def encode_rle(mask: np.ndarray) -> list[int]:
    """Run lengths of a boolean array (C order), alternating 0-runs and 1-runs, starting with a 0-run."""
    flat = np.asarray(mask, dtype=bool).ravel()
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = [int(v) for v in np.diff(edges)]
    return [0, *runs] if flat.size and flat[0] else runs


def _cut_index(plane: str, index: int, shape: tuple[int, ...]) -> tuple[Any, ...]:
    if len(shape) == 2:
        return (slice(None), slice(None))
    if plane not in _NORMAL:
        raise BridgeError(f"brush stroke: unknown plane {plane!r} (axial, coronal or sagittal)")
    axis = _NORMAL[plane]
    if not 0 <= index < shape[axis]:
        raise BridgeError(f"brush stroke: {plane} slice {index} is outside 0..{shape[axis] - 1}")
    cut: list[Any] = [slice(None)] * 3
    cut[axis] = index
    return tuple(cut)


def _phrase_with_mask(fs: Any, phrase: Any) -> int:
    if isinstance(phrase, int):
        return phrase
    for i, p in enumerate(fs.finding.phrases):
        if p.grounding is not None and p.grounding.mask_ref:
            return i
    return 0


def apply_stroke(services: Any, case_id: str, fs: Any, phrase: int, event: dict[str, Any]) -> np.ndarray:
    """The phrase's mask with one brush stroke applied (see module docstring)."""
    shape = services.study(case_id).primary.shape
    phrases = fs.finding.phrases
    g = phrases[phrase].grounding if phrase < len(phrases) else None
    base = np.asarray(services.artefact(g.mask_ref), dtype=bool) if g is not None and g.mask_ref else None
    mask = base.copy() if base is not None and base.shape == shape else np.zeros(shape, dtype=bool)
    cut = _cut_index(str(event.get("plane", "")), int(event.get("index", 0)), shape)
    target = mask[cut]
    rows, cols = (int(v) for v in (event.get("shape") or (0, 0)))
    stroke = decode_rle(event.get("rle") or [], (rows, cols))
    if stroke.shape != target.shape:
        raise BridgeError(
            f"brush stroke: slice shape {stroke.shape} does not match the image's {target.shape}")
    mask[cut] = (target | stroke) if event.get("mode", "paint") == "paint" else (target & ~stroke)
    return mask


def undo_last(services: Any, reviewer: str, case_id: str) -> Any:
    """Revert this reviewer's last grounding edit on the case by appending a restoring action.

    Raises:
        app.services.ServiceError: nothing to undo (or the store refused it).
    """
    from app.callbacks import review
    from app.services import ServiceError
    from inference.records import Grounding
    from storage.records import ReviewAction

    state = review.require_state(services, case_id)
    undone = {a.comment[len(UNDO_PREFIX):] for a in state.actions if a.comment.startswith(UNDO_PREFIX)}
    target = None
    for action in reversed(state.actions):
        if action.reviewer != reviewer or action.kind not in ("move_box", "edit_mask"):
            continue
        if action.comment.startswith(UNDO_PREFIX) or str(action.id) in undone:
            continue
        target = action
        break
    if target is None:
        raise ServiceError("nothing to undo: no box or mask edit of yours on this case")
    current = review._finding_state(state, target.finding_id or "")
    phrases = current.finding.phrases
    index = target.phrase_index or 0
    action = ReviewAction(
        kind=target.kind,
        case_id=case_id,
        draft_id=state.draft_id,
        reviewer=reviewer,
        finding_id=target.finding_id,
        phrase_index=index,
        before_grounding=phrases[index].grounding if index < len(phrases) else None,
        after_grounding=target.before_grounding or Grounding(source="reviewer"),
        reason="grounding_error",
        comment=f"{UNDO_PREFIX}{target.id}",
        base_version=current.version,
    )
    return review._commit(services, action)


def parse_event(text: str) -> dict[str, Any]:
    """The event object of the event textbox.

    Raises:
        BridgeError: not a JSON object with a known ``type``.
    """
    try:
        event = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        raise BridgeError(f"viewer event is not JSON: {str(text)[:80]!r}") from None
    if not isinstance(event, dict) or event.get("type") not in ("move_box", "edit_mask", "undo"):
        raise BridgeError(f"unknown viewer event {str(text)[:80]!r} (move_box, edit_mask or undo)")
    return event


def handle_event(services: Any, reviewer: str, event: dict[str, Any]) -> Any:
    """Store one viewer event as an action; returns the new review state.

    Raises:
        BridgeError / app.services.ServiceError: the event cannot be stored (the message says why).
    """
    from app.callbacks import grounding, review

    case_id = str(event.get("case") or "")
    if event["type"] == "undo":
        return undo_last(services, reviewer, case_id)
    finding_id = str(event.get("finding") or "")
    phrase = event.get("phrase")
    phrase = int(phrase) if isinstance(phrase, int | float) and not isinstance(phrase, bool) else None
    if event["type"] == "move_box":
        box = event.get("box")
        if not isinstance(box, list) or not all(isinstance(v, int | float) for v in box):
            raise BridgeError(f"move_box: box must be a list of numbers, got {box!r}")
        from viewer.planes import validate_box

        try:
            values = validate_box(box, services.study(case_id).primary.pixels.ndim)
        except ValueError as exc:
            raise BridgeError(f"move_box: {exc}") from None
        return review.move_box(services, reviewer, case_id, finding_id, values, phrase)
    state = review.require_state(services, case_id)
    fs = review._finding_state(state, finding_id)
    index = _phrase_with_mask(fs, phrase)
    mask = apply_stroke(services, case_id, fs, index, event)
    return review.replace_mask(services, reviewer, case_id, finding_id, grounding.store_mask(services, mask),
                               index)


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


def standalone_app(services: Any, auth: list[tuple[str, str]] | None = None) -> Any:
    """A FastAPI app with the pixel routes and a bare page holding only the viewer, a case box
    (``#rr-t-case``), a finding box (``#rr-t-finding``) and an open button (``#rr-t-open``) — for the
    viewer's browser tests and ``radreview bench ui``, independent of the workspace layout."""
    import gradio as gr
    from fastapi import FastAPI

    from app.pixels import mount_pixel_routes

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
