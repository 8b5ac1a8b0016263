"""Wiring the review workspace: handlers bound to the components :mod:`app.build` lays out, by name.

:class:`Wiring` adapts a handler (services bound, user errors shown, a returned
:class:`~app.handlers.view.ReviewView` turned into ``{component: update}``, the key sequence echoed);
:func:`wire_app` attaches every handler of the worklist, review, impression and viewer events.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from app import viewer_bridge
from app.handlers import generate as generate_h
from app.handlers import grounding as grounding_h
from app.handlers import review as review_h
from app.handlers import view as view_h
from app.handlers import worklist as worklist_h
from app.handlers.common import bind, ping, user_errors
from app.services import Services

REVIEW_EVENT = {"show_progress": "hidden"}  # a decision must not blank the panel while it runs
GENERATION: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "generate"}
"""Events that run a model share one queue slot: one generation at a time per server."""


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


def wire_app(
    gr: Any, services: Services, demo: Any, c: dict[str, Any], w: dict[str, Any], extra: dict[str, Any]
) -> None:
    """Connect every handler of the workspace to its components (``c``: review, ``w``: worklist)."""
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
    upload_in = ["wl_file", "wl_up_case", "wl_indication", "wl_prior_case", "wl_prior_report", "wl_lateral",
                 "wl_series"]
    wire.review(w["upload"].click, worklist_h.upload, upload_in, api_name="upload", **opening)

    wire.review(
        c["generate"].click, generate_h.generate, ["sess"], api_name="generate", show_progress="minimal",
        **GENERATION,
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
        c["regenerate"].click, grounding_h.regenerate_section, ["sess"], api_name="regenerate_section",
        **GENERATION,
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
