"""The review workspace layout: ``build_app(services) -> gr.Blocks`` (thin; logic is in handlers).

One screen: the client-side viewer (:mod:`app.viewer_bridge`) on the left at full height, the
region-structured report with its action bar on the right, every review action visible without
scrolling the page at 1920×1080. Components live in one dict keyed by name; those names are the fields
of :class:`app.handlers.view.ReviewView`, so handlers return named updates, never positional tuples.
Theme, CSS and the keyboard script are passed at launch/mount time (Gradio 6): see :func:`assets`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app import viewer_bridge
from app.handlers import generate as generate_h
from app.handlers import grounding as grounding_h
from app.handlers import review as review_h
from app.handlers import view as view_h
from app.handlers import worklist as worklist_h
from app.handlers.common import Session, bind, ping, user_errors
from app.services import Services
from storage.records import REASON_CODES

_HERE = Path(__file__).parent
REVIEW_EVENT = {"show_progress": "hidden"}  # a decision must not blank the panel while it runs


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
        _wire(gr, services, demo, c, w, extra)
    return demo


def _extra_tabs(gr: Any, services: Services) -> dict[str, Any]:
    from app.build_tabs import export_dashboard_tabs

    return export_dashboard_tabs(gr, services)


class Wiring:
    """Connects handlers to components by name: binds ``services``, applies
    :func:`app.handlers.common.user_errors`, turns a returned :class:`~app.handlers.view.ReviewView`
    into ``{component: update}`` and, for review events, echoes the page script's key sequence number
    into ``#rr-ack`` so the script sends the next key press only once this one is answered."""

    def __init__(self, gr: Any, services: Services, components: dict[str, Any]) -> None:
        self.gr, self.services, self.c = gr, services, components
        self.review_out = [components[name] for name in view_h.FIELDS]

    def handler(self, fn: Callable[..., Any], ack: bool = True, **fixed: Any) -> Callable[..., Any]:
        """``fn`` bound, made safe and adapted to return ``{component: update}`` (see class doc)."""
        safe = user_errors(bind(fn, self.services, **fixed))
        c = self.c

        def convert(result: Any, seq: str) -> Any:
            updates = result.updates() if isinstance(result, view_h.ReviewView) else result
            out = {c[name]: value for name, value in updates.items()}
            if ack:
                out[c["ack"]] = seq
            return out

        if inspect.isgeneratorfunction(fn):

            def adapted(seq: str, *args: Any, **kwargs: Any) -> Any:
                for result in safe(*args, **kwargs):
                    yield convert(result, seq)
        else:

            def adapted(seq: str, *args: Any, **kwargs: Any) -> Any:
                return convert(safe(*args, **kwargs), seq)

        first = inspect.Parameter("seq", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
        signature = inspect.signature(safe)
        adapted.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[first, *signature.parameters.values()]
        )
        adapted.__annotations__ = {"seq": str, **safe.__annotations__}
        name = str(fixed.get("kind") or getattr(fn, "__name__", "callback"))
        adapted.__name__ = adapted.__qualname__ = name
        return adapted

    def review(self, trigger: Any, fn: Callable[..., Any], inputs: Sequence[str], **kwargs: Any) -> Any:
        """``trigger(handler, [seq, *inputs], review outputs + ack)`` for a review-view handler."""
        fixed = kwargs.pop("fixed", {})
        return trigger(
            self.handler(fn, **fixed),
            [self.c["seq"], *(self.c[name] for name in inputs)],
            [*self.review_out, self.c["ack"]],
            **{**REVIEW_EVENT, **kwargs},
        )


def _wire(
    gr: Any, services: Services, demo: Any, c: dict[str, Any], w: dict[str, Any], extra: dict[str, Any]
) -> None:
    wire = Wiring(gr, services, {**c, **{f"wl_{k}": comp for k, comp in w.items()}})
    s = services
    list_fn = user_errors(bind(worklist_h.worklist_view, s))
    listing = ([w["status"], w["search"]], [w["table"], w["progress"]])
    for trigger in (demo.load, w["refresh"].click, w["status"].change, w["search"].submit):
        trigger(list_fn, *listing)

    opening = {"show_progress": "full"}
    w["table"].select(worklist_h.table_select, None, w["case"]).then(
        wire.handler(worklist_h.open_case), [c["seq"], w["case"]], [*wire.review_out, c["ack"]]
    )
    wire.review(demo.load, worklist_h.restore, [], api_name="restore", **opening)
    wire.review(w["open"].click, worklist_h.open_case, ["wl_case"], api_name="open_case", **opening)
    wire.review(w["case"].submit, worklist_h.open_case, ["wl_case"], api_visibility="private", **opening)
    wire.review(w["next"].click, worklist_h.next_case, ["sess"], api_name="next_unreviewed", **opening)
    wire.review(c["next_case"].click, worklist_h.next_case, ["sess"], api_name="next_case").then(
        list_fn, *listing
    )
    upload_in = ["wl_file", "wl_up_case", "wl_indication", "wl_prior_case", "wl_prior_report", "wl_lateral"]
    wire.review(w["upload"].click, worklist_h.upload, upload_in, api_name="upload", **opening)

    wire.review(
        c["generate"].click,
        generate_h.generate,
        ["sess"],
        api_name="generate",
        concurrency_limit=1,
        concurrency_id="generate",
        show_progress="minimal",
    )
    wire.review(c["select_btn"].click, review_h.select_finding, ["sess", "select"], api_name="select_finding")
    wire.review(
        c["key_next"].click, review_h.step_finding, ["sess"], api_name="next_finding", fixed={"step": 1}
    )
    wire.review(
        c["key_prev"].click, review_h.step_finding, ["sess"], api_name="prev_finding", fixed={"step": -1}
    )
    decision_in = ["sess", "text", "reason", "significant", "comment", "grounding"]
    for kind in ("accept", "edit", "reject"):
        wire.review(c[kind].click, review_h.decide, decision_in, api_name=kind, fixed={"kind": kind})
    wire.review(
        c["add"].click,
        review_h.add_finding,
        ["sess", "add_region", "add_text", "add_reason", "add_sig"],
        api_name="add_finding",
    )
    wire.review(c["relink"].click, review_h.relink, ["sess", "relink_region"], api_name="relink")
    wire.review(c["sign"].click, review_h.sign, ["sess"], api_name="sign")
    wire.review(c["phrase"].input, review_h.select_phrase, ["sess", "phrase"], api_name="select_phrase")
    wire.review(
        c["mask_seg"].click, grounding_h.mask_from_segmenter, ["sess", "segmenter"], api_visibility="private"
    )
    wire.review(
        c["mask_file"].upload, grounding_h.mask_from_file, ["sess", "mask_file"], api_visibility="private"
    )
    wire.review(
        c["regenerate"].click,
        grounding_h.regenerate_section,
        ["sess"],
        api_name="regenerate_section",
        concurrency_limit=1,
        concurrency_id="generate",
    )
    _wire_impression(wire, c)

    c["reason"].change(
        wire.handler(lambda _s, reason: review_h.buttons(reason), ack=False),
        [c["seq"], c["reason"]],
        [c["edit"], c["reject"], c["message"]],
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )
    hint_in = [c["seq"], c["sess"], c["reason"], c["text"]]
    for trigger in (c["reason"].change, c["text"].blur):
        trigger(
            wire.handler(review_h.grounding_hint, ack=False),
            hint_in,
            [c["grounding"]],
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )
    c["ping"].click(ping, c["pong"], c["pong"], api_name="ping")  # empty round trip: the benchmarks' floor

    viewer = {k.removeprefix("viewer_"): comp for k, comp in c.items() if k.startswith("viewer_")}
    viewer_bridge.wire(
        gr,
        services,
        viewer,
        [c["sess"]],
        wire.review_out,
        lambda sess: _ordered(review_h.refresh(services, sess)),
    )


def _ordered(view: view_h.ReviewView) -> tuple[Any, ...]:
    """A view as a tuple in :data:`app.handlers.view.FIELDS` order (``gr.skip()`` for ``KEEP``)."""
    import gradio as gr

    updates = view.updates()
    return tuple(updates.get(name, gr.skip()) for name in view_h.FIELDS)


def _wire_impression(wire: Wiring, c: dict[str, Any]) -> None:
    """The impression row (issue 13): accept / edit (with the action bar's reason) / regenerate it from
    the reviewed findings; signing needs it accepted or edited."""
    imp_in = ["sess", "impression", "reason", "significant", "comment"]
    for name, kind in (("imp_accept", "accept"), ("imp_edit", "edit")):
        wire.review(
            c[name].click,
            review_h.impression_decision,
            imp_in,
            api_name=f"{kind}_impression",
            fixed={"kind": kind},
        )
    wire.review(
        c["imp_regen"].click,
        review_h.regenerate_impression,
        ["sess"],
        api_name="regenerate_impression",
    )


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
