"""The review workspace layout: ``build_app(services) -> gr.Blocks`` (thin; logic is in callbacks).

Theme, CSS and the keyboard script are passed at launch/mount time (Gradio 6): see :func:`assets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app import handlers as h
from app.callbacks import viewer as view_cb
from app.callbacks import worklist as wl
from app.handlers import bind as partial
from app.services import Services
from storage.records import REASON_CODES

_HERE = Path(__file__).parent


def assets() -> dict[str, str]:
    """``css`` and ``head`` (the keyboard script) for ``launch``/``mount_gradio_app``."""
    js = (_HERE / "keyboard.js").read_text(encoding="utf-8")
    return {"css": (_HERE / "app.css").read_text(encoding="utf-8"), "head": f"<script>{js}</script>"}


def _worklist_tab(gr: Any, services: Services) -> dict[str, Any]:
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
        c["prior_report"] = gr.Textbox(label="prior report", lines=2)
        c["upload"] = gr.Button("Upload and open", variant="primary", elem_id="rr-upload-open")
    return c


def _viewer_column(gr: Any) -> dict[str, Any]:
    c: dict[str, Any] = {}
    with gr.Row():
        c["plane"] = gr.Radio(
            ["axial", "coronal", "sagittal"], value="axial", label="plane", elem_id="rr-plane"
        )
        c["preset"] = gr.Dropdown([], label="W/L preset (w)", elem_id="rr-preset", allow_custom_value=True)
        c["center"] = gr.Slider(-1200, 3000, value=40, step=1, label="level (center)", elem_id="rr-center")
        c["width"] = gr.Slider(1, 4000, value=400, step=1, label="window (width)", elem_id="rr-width")
    c["image"] = gr.Radio(["frontal"], value="frontal", label="image", visible=False, elem_id="rr-image")
    c["plot"] = gr.Plot(elem_id="rr-plot", show_label=False)
    c["slice"] = gr.Slider(0, 1, value=0, step=1, label="slice (↑/↓)", elem_id="rr-slice")
    with gr.Row():
        c["seg"] = gr.Checkbox(True, label="segmentation", elem_id="rr-seg")
        c["attention"] = gr.Checkbox(False, label="attention", elem_id="rr-attention")
        c["boxes"] = gr.Checkbox(True, label="boxes", elem_id="rr-boxes")
        c["opacity"] = gr.Slider(0, 1, value=0.35, step=0.05, label="overlay opacity", elem_id="rr-opacity")
    c["click"] = gr.Textbox(elem_id="rr-click", elem_classes=["rr-hidden"], show_label=False)
    c["url"] = gr.Textbox(elem_id="rr-url", elem_classes=["rr-hidden"], show_label=False)
    c["readout"] = gr.Textbox(
        label="value at last click", interactive=False, max_lines=1, elem_id="rr-readout"
    )
    gr.Markdown(
        "Hover or click for pixel values. To move a box: select a finding, click two opposite corners.",
        elem_classes=["rr-hint"],
    )
    return c


def _report_column(gr: Any, services: Services) -> dict[str, Any]:
    c: dict[str, Any] = {}
    with gr.Row():
        c["generate"] = gr.Button(f"Generate draft ({services.generator.label()})", elem_id="rr-generate")
        c["gen_status"] = gr.Markdown(elem_id="rr-gen-status")
    c["stream"] = gr.Textbox(
        label="draft text (streamed)", lines=3, max_lines=8, interactive=False, elem_id="rr-stream"
    )
    c["report"] = gr.HTML(elem_id="rr-report")
    c["findings"] = gr.Radio([], label="findings (j/k)", elem_id="rr-findings")
    c["phrase"] = gr.Dropdown(
        [], label="grounded phrase (jump to it; boxes you draw go to it)", elem_id="rr-phrase"
    )
    c["text"] = gr.Textbox(label="finding text (e to edit)", lines=2, elem_id="rr-text")
    with gr.Row():
        c["reason"] = gr.Dropdown(list(REASON_CODES), value=None, label="reason code", elem_id="rr-reason")
        c["significant"] = gr.Checkbox(False, label="clinically significant", elem_id="rr-significant")
    c["comment"] = gr.Textbox(label="comment", elem_id="rr-comment")
    with gr.Row():
        c["accept"] = gr.Button("Accept (a)", variant="primary", elem_id="rr-accept")
        c["edit"] = gr.Button("Save edit (e)", elem_id="rr-edit")
        c["reject"] = gr.Button("Reject (r)", variant="stop", elem_id="rr-reject")
    with gr.Accordion("Grounding: relink, replace mask, regenerate section", open=False):
        with gr.Row():
            c["relink_region"] = gr.Dropdown([], label="move finding to region", elem_id="rr-relink-region")
            c["relink"] = gr.Button("Relink", elem_id="rr-relink")
        with gr.Row():
            c["segmenter"] = gr.Dropdown(_segmenters(), value="threshold-ct", label="segmenter")
            c["mask_seg"] = gr.Button("Replace mask from segmenter", elem_id="rr-mask-seg")
        with gr.Row():
            c["mask_file"] = gr.File(label="label map (same grid)", type="filepath")
            c["mask_up"] = gr.Button("Replace mask from file", elem_id="rr-mask-file")
        c["regenerate"] = gr.Button("Regenerate this section (uses corrected masks)", elem_id="rr-regenerate")
    with gr.Accordion("Add missed finding", open=False, elem_id="rr-add-acc"):
        with gr.Row():
            c["add_region"] = gr.Dropdown([], label="section", elem_id="rr-add-region")
            c["add_reason"] = gr.Dropdown(list(REASON_CODES), value="missed_finding", label="reason")
            c["add_sig"] = gr.Checkbox(False, label="clinically significant")
        c["add_text"] = gr.Textbox(label="missed finding", elem_id="rr-add-text")
        c["add"] = gr.Button("Add finding", elem_id="rr-add")
    with gr.Row():
        c["sign"] = gr.Button("Sign report (ctrl+enter)", variant="primary", elem_id="rr-sign")
        c["next_case"] = gr.Button("Next case ▶", elem_id="rr-next-case")
    c["signed"] = gr.HTML(elem_id="rr-signed")
    c["section_region"] = c["add_region"]  # placeholder for per-section tools (regenerate)
    return c


def _segmenters() -> list[str]:
    from inference.registry import segmenter_names

    return [n for n in segmenter_names() if n != "upload"]


def _key_buttons(gr: Any) -> dict[str, Any]:
    names = ("next", "prev", "up", "down", "cycle", "overlays", "ping")
    with gr.Row(elem_classes=["rr-hidden"]):
        return {n: gr.Button(n, elem_id=f"rr-key-{n}") for n in names} | {
            "clickbtn": gr.Button("click", elem_id="rr-click-btn"),
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

    with gr.Blocks(title="radreview") as demo:
        sess = gr.State(h.Session())
        params = gr.State(view_cb.ViewParams())
        with gr.Tabs(elem_id="rr-tabs") as tabs:
            with gr.Tab("Worklist", id="worklist"):
                w = _worklist_tab(gr, services)
            with gr.Tab("Review", id="review"):
                header = gr.Markdown("### Open a case from the worklist", elem_id="rr-header")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        v = _viewer_column(gr)
                    with gr.Column(scale=2, elem_id="rr-report-col"):
                        r = _report_column(gr, services)
                keys = _key_buttons(gr)
            extra = _extra_tabs(gr, services)
        gr.HTML(_HELP, elem_id="rr-help-holder")
        _wire(gr, services, demo, tabs, sess, params, header, w, v, r, keys, extra)
    return demo


def _extra_tabs(gr: Any, services: Services) -> dict[str, Any]:
    try:
        from app.build_tabs import export_dashboard_tabs
    except ImportError:
        return {}
    return export_dashboard_tabs(gr, services)  # type: ignore[no-any-return]


def _wire(
    gr: Any,
    services: Services,
    demo: Any,
    tabs: Any,
    sess: Any,
    params: Any,
    header: Any,
    w: dict[str, Any],
    v: dict[str, Any],
    r: dict[str, Any],
    keys: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    review_out = [
        sess,
        params,
        header,
        v["plot"],
        v["slice"],
        r["report"],
        r["findings"],
        r["text"],
        r["signed"],
        v["center"],
        v["width"],
        r["reason"],
        r["significant"],
        r["comment"],
        r["phrase"],
        v["url"],
    ]
    open_out = [
        *review_out,
        v["preset"],
        v["plane"],
        r["add_region"],
        r["relink_region"],
        tabs,
        v["image"],
    ]
    view_out = [
        params,
        v["plot"],
        v["slice"],
        v["center"],
        v["width"],
        v["seg"],
        v["attention"],
        v["boxes"],
        v["preset"],
        v["plane"],
        v["url"],
    ]
    decision_in = [sess, params, r["text"], r["reason"], r["significant"], r["comment"]]
    s = services

    list_fn = partial(h.worklist_view, s)
    for trigger in (demo.load, w["refresh"].click, w["status"].change, w["search"].submit):
        trigger(list_fn, [w["status"], w["search"]], [w["table"], w["progress"]])
    w["table"].select(h.table_select, None, w["case"]).then(partial(h.open_case, s), w["case"], open_out)
    demo.load(partial(h.restore, s), [sess, params], open_out)
    w["open"].click(partial(h.open_case, s), w["case"], open_out)
    w["case"].submit(partial(h.open_case, s), w["case"], open_out)
    w["next"].click(partial(h.next_case, s), sess, open_out)
    r["next_case"].click(partial(h.next_case, s), sess, open_out).then(
        list_fn, [w["status"], w["search"]], [w["table"], w["progress"]]
    )
    w["upload"].click(
        partial(h.upload, s),
        [w["file"], w["up_case"], w["indication"], w["prior_case"], w["prior_report"], w["lateral"]],
        open_out,
    )

    r["generate"].click(
        partial(h.generate, s),
        [sess, params],
        [r["gen_status"], r["stream"], *review_out],
        concurrency_limit=1,
        concurrency_id="generate",
    )
    r["findings"].input(partial(h.select_finding, s), [sess, params, r["findings"]], review_out)
    keys["next"].click(partial(h.step_finding, s, step=1), [sess, params], review_out)
    keys["prev"].click(partial(h.step_finding, s, step=-1), [sess, params], review_out)
    for kind in ("accept", "edit", "reject"):
        r[kind].click(partial(h.decide, s, kind), decision_in, review_out)
    r["add"].click(
        partial(h.add_finding, s),
        [sess, params, r["add_region"], r["add_text"], r["add_reason"], r["add_sig"]],
        review_out,
    )
    r["relink"].click(partial(h.relink, s), [sess, params, r["relink_region"]], review_out)
    r["sign"].click(partial(h.sign, s), [sess, params], review_out)
    r["mask_seg"].click(partial(h.mask_from_segmenter, s), [sess, params, r["segmenter"]], review_out)
    r["mask_up"].click(partial(h.mask_from_file, s), [sess, params, r["mask_file"]], review_out)
    r["regenerate"].click(
        partial(h.regenerate_section, s),
        [sess, params],
        review_out,
        concurrency_limit=1,
        concurrency_id="generate",
    )
    keys["clickbtn"].click(partial(h.plot_click, s), [sess, params, v["click"], r["phrase"]], review_out)
    r["phrase"].input(partial(h.select_phrase, s), [sess, params, r["phrase"]], review_out)
    keys["clickbtn"].click(partial(h.click_readout, s), [sess, params, v["click"]], v["readout"])

    for name in ("slice", "center", "width", "opacity"):
        v[name].release(
            partial(h.set_view, s, name), [sess, params, v[name]], view_out, trigger_mode="always_last"
        )
    for name in ("plane", "preset", "seg", "attention", "boxes", "image"):
        v[name].input(partial(h.set_view, s, name), [sess, params, v[name]], view_out)
    keys["ping"].click(h.ping, keys["pong"], keys["pong"])  # empty round trip: the UI benchmark's floor
    for key in ("up", "down", "cycle", "overlays"):
        keys[key].click(
            partial(h.set_view, s, key), [sess, params, keys[key]], view_out, trigger_mode="always_last"
        )


_HELP = """
<div id="rr-help" class="rr-help" hidden>
<h3>Keyboard</h3>
<table>
<tr><td><kbd>j</kbd> / <kbd>k</kbd></td><td>next / previous finding</td></tr>
<tr><td><kbd>a</kbd></td><td>accept finding</td></tr>
<tr><td><kbd>e</kbd></td><td>edit finding text (then Save edit)</td></tr>
<tr><td><kbd>r</kbd></td><td>reject finding (pick a reason code first)</td></tr>
<tr><td><kbd>o</kbd></td><td>toggle overlays</td></tr>
<tr><td><kbd>w</kbd></td><td>next window preset</td></tr>
<tr><td><kbd>↑</kbd> / <kbd>↓</kbd></td><td>slice up / down</td></tr>
<tr><td><kbd>ctrl</kbd>+<kbd>enter</kbd></td><td>sign report</td></tr>
<tr><td><kbd>?</kbd></td><td>this help (Esc closes)</td></tr>
</table></div>
"""
