"""The seam between the Gradio workspace and the client-side viewer (issue 12).

The browser viewer (``frontend/``) renders the study itself: it fetches pixels, label maps and heat maps
once over authenticated routes and runs scroll, window/level, overlays and the probe/box/brush tools
client-side. The Gradio side talks to it through three hidden components:

- ``#rr-viewer-state`` (Python → JS): a JSON text, :func:`viewer_state`, re-sent whenever the review view
  changes (case opened, finding selected, grounding edited). The viewer watches it and loads/redraws.
- ``#rr-viewer-event`` + ``#rr-viewer-event-btn`` (JS → Python): the viewer writes one JSON event (a box
  drawn/moved, a brush stroke committed, undo, a view change for the address bar) and clicks the button;
  :func:`wire` attaches the handler that stores it as an action and refreshes the review view.

This module is the contract; ``frontend/`` and :mod:`app.build` both code against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

VIEWER_HOST_ID = "rr-viewer"
STATE_ID = "rr-viewer-state"
EVENT_ID = "rr-viewer-event"
EVENT_BUTTON_ID = "rr-viewer-event-btn"


def viewer_components(gr: Any) -> dict[str, Any]:
    """Create the viewer host and its hidden bridge components inside the current Blocks context.

    Returns:
        ``{"host": gr.HTML, "state": gr.Textbox, "event": gr.Textbox, "event_btn": gr.Button}``.
    """
    return {
        "host": gr.HTML(f'<div id="{VIEWER_HOST_ID}-canvas" class="rr-viewer-host"></div>', elem_id=VIEWER_HOST_ID),
        "state": gr.Textbox("", elem_id=STATE_ID, elem_classes=["rr-hidden"], show_label=False),
        "event": gr.Textbox("", elem_id=EVENT_ID, elem_classes=["rr-hidden"], show_label=False),
        "event_btn": gr.Button("viewer event", elem_id=EVENT_BUTTON_ID, elem_classes=["rr-hidden"]),
    }


def viewer_state(services: Any, case_id: str, selected: str | None, view: dict[str, Any] | None = None) -> str:
    """The JSON text the browser viewer loads from (see module docstring); ``""`` when no case is open.

    Args:
        services: The injected services.
        case_id: The open case, or ``""``.
        selected: The selected finding id, if any.
        view: Plane/slice/phrase requested by the address bar or a jump-to-finding, if any.
    """
    raise NotImplementedError("filled in by the client-side viewer (issue 12)")


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
        inputs: Session-state components the handler needs besides the event text.
        outputs: The review view's outputs, updated by ``refresh``.
        refresh: Builds the review view's outputs from the session after the event is stored.
    """
    raise NotImplementedError("filled in by the client-side viewer (issue 12)")
