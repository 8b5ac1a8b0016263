"""Draft generation: stream the stage and text into the report panel, then show the stored draft."""

import html
from collections.abc import Iterator

import gradio as gr

from app.callbacks import generate as gen
from app.callbacks import review
from app.handlers import view as v
from app.handlers.common import Session
from app.services import ServiceError, Services


def generate(
    services: Services,
    sess: Session,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's injection idiom
) -> Iterator[v.ReviewView]:
    """Generate a draft for the open case, streaming into the report panel.

    Raises:
        ServiceError: No case open, a draft already under review, or the generator failed (the
            wiring shows it as ``gr.Error``; nothing is stored then).
    """
    if not sess.case_id:
        raise ServiceError("open a case from the worklist first")
    state = review.review_state(services, sess.case_id)
    if state is not None and (state.signed or state.actions):
        raise ServiceError(f"{sess.case_id} already has a draft under review; decide its findings instead")
    progress(0.0, desc="starting")
    for step, (stage, text) in enumerate(gen.stream(services, sess.case_id), start=1):
        progress(min(0.95, step / (step + 5)), desc=stage)
        streamed = f'<div class="rr-stream"><b>{html.escape(stage)}</b><pre>{html.escape(text)}</pre></div>'
        yield v.ReviewView(gen_status=f"**{stage}**", report=streamed)
    state = review.require_state(services, sess.case_id)
    fresh = Session(sess.case_id, review.first_pending(state), review.now_iso())
    yield v.full(services, fresh).but(gen_status=f"**done** · {services.generator.label()}")


__all__ = ["ServiceError", "generate"]
