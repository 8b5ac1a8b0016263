"""The review workspace layout: ``build_app(services) -> gr.Blocks`` (thin; logic is in handlers).

One screen: the client-side viewer (:mod:`app.viewer_bridge`) on the left at full height, the
region-structured report with its action bar on the right, every review action visible without
scrolling the page at 1920×1080. Components live in one dict keyed by name; those names are the fields
of :class:`app.handlers.view.ReviewView`, so handlers return named updates, never positional tuples.
Theme, CSS and the keyboard script are passed at launch/mount time (Gradio 6): see :func:`assets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app import viewer_bridge
from app.handlers import view as view_h
from app.handlers.common import Session
from app.services import Services
from app.wiring import wire_app
from storage.records import REASON_CODES

_HERE = Path(__file__).parent


def assets() -> dict[str, str]:
    """``css`` and ``head`` (the keyboard script) for ``launch``/``mount_gradio_app``."""
    js = (_HERE / "keyboard.js").read_text(encoding="utf-8")
    return {"css": (_HERE / "app.css").read_text(encoding="utf-8"), "head": f"<script>{js}</script>"}


def _worklist_tab(gr: Any, services: Services) -> dict[str, Any]:
    from app.callbacks import worklist as wl

    c: dict[str, Any] = {}
    with gr.Row():
        c["progress"] = gr.Markdown(elem_id="rr-progress")
    with gr.Row():
        c["status"] = gr.Dropdown(list(wl.STATUSES), value="all", label="status", scale=1)
        c["search"] = gr.Textbox(label="search case id", scale=2, elem_id="rr-search")
        c["refresh"] = gr.Button("Refresh", scale=0)
        c["next"] = gr.Button("Next unreviewed ▶", variant="primary", scale=0, elem_id="rr-next-unreviewed")
    c["table"] = gr.Dataframe(headers=list(wl.COLUMNS), interactive=False, elem_id="rr-worklist", wrap=True)
    with gr.Row():
        c["case"] = gr.Textbox(label="case id", scale=3, elem_id="rr-case-id")
        c["open"] = gr.Button("Open case", scale=0, elem_id="rr-open")
    with gr.Accordion(
        f"Upload a study (zip of DICOM, DICOM, NIfTI, PNG/JPEG; ≤ {services.max_upload_mb} MiB)", open=False
    ):
        with gr.Row():
            c["file"] = gr.File(label="study", type="filepath", elem_id="rr-upload")
            c["lateral"] = gr.File(label="lateral radiograph (optional)", type="filepath")
        with gr.Row():
            c["up_case"] = gr.Textbox(label="case id (optional)", elem_id="rr-up-case")
            c["indication"] = gr.Textbox(label="indication", elem_id="rr-up-indication")
            c["prior_case"] = gr.Textbox(label="prior study (case id)")
            c["series"] = gr.Textbox(label="series UID (when the zip holds several)", elem_id="rr-up-series")
        c["prior_report"] = gr.Textbox(label="prior report", lines=2)
        c["upload"] = gr.Button("Upload and open", variant="primary", elem_id="rr-upload-open")
    return c


def _action_bar(gr: Any) -> dict[str, Any]:
    """The selected finding's editor and its decisions (accept / edit with reason / reject)."""
    c: dict[str, Any] = {}
    with gr.Group(elem_id="rr-actions"):
        c["text"] = gr.Textbox(
            label="selected finding (e edits; Save edit needs a reason)",
            lines=2,
            max_lines=4,
            elem_id="rr-text",
        )
        with gr.Row(equal_height=True):
            c["reason"] = gr.Dropdown(
                list(REASON_CODES), value=None, label="reason code", elem_id="rr-reason", scale=3
            )
            c["grounding"] = gr.Radio(
                [(label, value) for label, value in view_h.GROUNDING_CHOICES],
                value=None,
                label="box on edit (default: keep)",
                elem_id="rr-grounding",
                scale=4,
            )
            c["significant"] = gr.Checkbox(
                False, label="clinically significant", elem_id="rr-significant", scale=2
            )
        c["comment"] = gr.Textbox(
            label="comment",
            show_label=False,
            placeholder="comment (optional)",
            max_lines=1,
            elem_id="rr-comment",
        )
    with gr.Row(elem_id="rr-decide-row", equal_height=True):
        c["accept"] = gr.Button("Accept (a)", variant="primary", elem_id="rr-accept", scale=1, min_width=90)
        c["edit"] = gr.Button("Save edit", elem_id="rr-edit", interactive=False, scale=1, min_width=90)
        c["reject"] = gr.Button(
            "Reject (r)", variant="stop", elem_id="rr-reject", interactive=False, scale=1, min_width=90
        )
        c["message"] = gr.HTML("", elem_id="rr-message", scale=3)
    return c


def _tool_tabs(gr: Any) -> dict[str, Any]:
    """Impression, add missed, grounding tools: tabs of a fixed height under the action bar."""
    c: dict[str, Any] = {}
    with gr.Tabs(elem_id="rr-tools"):
        with gr.Tab("Impression", id="impression", elem_id="rr-tab-impression"):
            c["impression"] = gr.Textbox(
                show_label=False, lines=2, max_lines=3, elem_id="rr-impression", placeholder="impression"
            )
            with gr.Row(equal_height=False):
                c["imp_accept"] = gr.Button(
                    "Accept impression", elem_id="rr-imp-accept", min_width=80, size="sm"
                )
                c["imp_edit"] = gr.Button("Save impression", elem_id="rr-imp-edit", min_width=80, size="sm")
                c["imp_regen"] = gr.Button(
                    "Regenerate from findings", elem_id="rr-imp-regen", min_width=80, size="sm"
                )
                c["impression_status"] = gr.HTML("", elem_id="rr-imp-status")
        with gr.Tab("Add missed", id="add", elem_id="rr-tab-add"):
            with gr.Row(equal_height=True):
                c["add_region"] = gr.Dropdown([], label="section", elem_id="rr-add-region", scale=2)
                c["add_reason"] = gr.Dropdown(
                    list(REASON_CODES),
                    value="missed_finding",
                    label="reason",
                    scale=2,
                    elem_id="rr-add-reason",
                )
                c["add_sig"] = gr.Checkbox(False, label="significant", scale=1)
            with gr.Row(equal_height=True):
                c["add_text"] = gr.Textbox(
                    show_label=False,
                    placeholder="missed finding",
                    elem_id="rr-add-text",
                    scale=4,
                    max_lines=2,
                )
                c["add"] = gr.Button("Add finding", elem_id="rr-add", scale=1, min_width=90)
        with gr.Tab("Grounding", id="grounding", elem_id="rr-tab-grounding"):
            with gr.Row(equal_height=True):
                c["phrase"] = gr.Dropdown(
                    [], label="phrase (the box tool draws for it)", elem_id="rr-phrase", scale=3
                )
                c["relink_region"] = gr.Dropdown(
                    [], label="move to section", elem_id="rr-relink-region", scale=2
                )
                c["relink"] = gr.Button("Relink", elem_id="rr-relink", scale=1, min_width=70)
            with gr.Row(equal_height=True):
                c["segmenter"] = gr.Dropdown(_segmenters(), value="threshold-ct", label="segmenter", scale=2)
                c["mask_seg"] = gr.Button("Mask from segmenter", elem_id="rr-mask-seg", scale=1, min_width=80)
                c["mask_file"] = gr.UploadButton(
                    "Mask from file…", elem_id="rr-mask-file", scale=1, min_width=80
                )
                c["regenerate"] = gr.Button(
                    "Regenerate section", elem_id="rr-regenerate", scale=1, min_width=80
                )
    return c


def _review_tab(gr: Any, services: Services) -> dict[str, Any]:
    c: dict[str, Any] = {}
    with gr.Row(elem_id="rr-review", equal_height=False):
        with gr.Column(scale=3, elem_id="rr-viewer-col", min_width=600):
            c.update({f"viewer_{k}": comp for k, comp in viewer_bridge.viewer_components(gr).items()})
        with gr.Column(scale=2, elem_id="rr-side", min_width=480):
            with gr.Row(elem_id="rr-head-row", equal_height=True):
                c["header"] = gr.Markdown("### Open a case from the worklist", elem_id="rr-header")
                with gr.Column(scale=0, min_width=150, elem_id="rr-gen-col"):
                    c["generate"] = gr.Button("Generate draft", elem_id="rr-generate", size="sm")
                    c["gen_status"] = gr.Markdown(
                        f"<span title='the generator'>{services.generator.label()}</span>",
                        elem_id="rr-gen-status",
                    )
            c["report"] = gr.HTML(elem_id="rr-report")
            c["signed"] = gr.HTML(elem_id="rr-signed")
            c.update(_action_bar(gr))
            c.update(_tool_tabs(gr))
            with gr.Row(elem_id="rr-sign-row", equal_height=True):
                c["sign"] = gr.Button("Sign report (ctrl+enter)", variant="primary", elem_id="rr-sign")
                c["next_case"] = gr.Button("Next case ▶ (n)", elem_id="rr-next-case")
    return c


def _segmenters() -> list[str]:
    from inference.registry import segmenter_names

    return [n for n in segmenter_names() if n != "upload"]


def _hidden(gr: Any) -> dict[str, Any]:
    """Plumbing the page script uses: row selection, j/k, the key sequence/ack pair, the ping floor,
    the address query."""
    with gr.Row(elem_classes=["rr-hidden"]):
        return {
            "select": gr.Textbox("", elem_id="rr-select", show_label=False),
            "select_btn": gr.Button("select", elem_id="rr-select-btn"),
            "key_next": gr.Button("next", elem_id="rr-key-next"),
            "key_prev": gr.Button("prev", elem_id="rr-key-prev"),
            "seq": gr.Textbox("0", elem_id="rr-seq", show_label=False),
            "ack": gr.Textbox("0", elem_id="rr-ack", show_label=False),
            "query": gr.Textbox("", elem_id="rr-url", show_label=False),
            "ping": gr.Button("ping", elem_id="rr-key-ping"),
            "pong": gr.Textbox("0", elem_id="rr-pong", show_label=False),
        }


def build_app(services: Services) -> Any:
    """The review workspace bound to ``services``.

    Args:
        services: Repository, data directory, generator configuration and caches.

    Returns:
        A ``gr.Blocks`` ready for ``launch`` or ``mount_gradio_app`` (pass :func:`assets` there).
    """
    import gradio as gr

    with gr.Blocks(title="radreview", fill_width=True) as demo:
        c: dict[str, Any] = {"sess": gr.State(Session())}
        with gr.Tabs(elem_id="rr-tabs") as tabs:
            with gr.Tab("Worklist", id="worklist"):
                w = _worklist_tab(gr, services)
            with gr.Tab("Review", id="review", elem_id="rr-review-tab"):
                c.update(_review_tab(gr, services))
            extra = _extra_tabs(gr, services)
        c["tabs"] = tabs
        c.update(_hidden(gr))
        gr.HTML(_HELP, elem_id="rr-help-holder")
        wire_app(gr, services, demo, c, w, extra)
    return demo


def _extra_tabs(gr: Any, services: Services) -> dict[str, Any]:
    from app.build_tabs import export_dashboard_tabs

    return export_dashboard_tabs(gr, services)


_HELP = """
<div id="rr-help" class="rr-help" hidden>
<h3>Keyboard</h3>
<table>
<tr><td><kbd>j</kbd> / <kbd>k</kbd></td><td>next / previous finding (or click its row)</td></tr>
<tr><td><kbd>a</kbd></td><td>accept the finding</td></tr>
<tr><td><kbd>e</kbd></td><td>edit its text (cursor at the end), then choose a reason and Save edit</td></tr>
<tr><td><kbd>r</kbd></td><td>reject (choose a reason code first)</td></tr>
<tr><td><kbd>n</kbd></td><td>next case</td></tr>
<tr><td><kbd>ctrl</kbd>+<kbd>enter</kbd></td><td>sign the report (also while typing)</td></tr>
<tr><td><kbd>Esc</kbd></td><td>leave a text field / close this help</td></tr>
<tr><td><kbd>?</kbd></td><td>this help</td></tr>
<tr><td colspan="2">Image: the viewer's keys (arrows, w, o, tools) — see its toolbar.</td></tr>
</table></div>
"""
