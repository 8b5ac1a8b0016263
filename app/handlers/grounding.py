"""Grounding tools of the review panel: relink lives in :mod:`app.handlers.review`; here the mask
replacement (from a segmenter or a label-map file) and the regeneration of one section.

Like every review action, a refusal returns a message instead of raising."""

import gradio as gr

from app.callbacks import grounding, review
from app.handlers import view as v
from app.handlers.common import Session, reviewer_of
from app.services import ServiceError, Services


def _selected_region(services: Services, sess: Session) -> str:
    if not sess.selected:
        raise ServiceError("select a finding first")
    return str(review.require_state(services, sess.case_id).state_of(sess.selected).finding.region)


def mask_from_segmenter(
    services: Services, sess: Session, segmenter: str, request: gr.Request
) -> v.ReviewView:
    """Replace the selected finding's mask with a segmenter's mask of its region."""
    try:
        reviewer = reviewer_of(services, request)
        region = _selected_region(services, sess)
        mask = grounding.segmenter_mask(services, sess.case_id, region, segmenter)
        grounding.replace_mask(services, reviewer, sess.case_id, sess.selected or "", mask)
    except ServiceError as exc:
        return v.message(str(exc))
    return v.panel(services, sess, note=f"mask replaced from {segmenter}")


def mask_from_file(services: Services, sess: Session, path: str | None, request: gr.Request) -> v.ReviewView:
    """Replace the selected finding's mask with an uploaded label map."""
    try:
        reviewer = reviewer_of(services, request)
        if not path:
            raise ServiceError("choose a label-map file first")
        _selected_region(services, sess)
        mask = grounding.uploaded_mask(services, sess.case_id, path)
        grounding.replace_mask(services, reviewer, sess.case_id, sess.selected or "", mask)
    except ServiceError as exc:
        return v.message(str(exc))
    return v.panel(services, sess, note="mask replaced from the file")


def regenerate_section(services: Services, sess: Session, request: gr.Request) -> v.ReviewView:
    """Regenerate the selected finding's section with the corrected masks."""
    try:
        reviewer = reviewer_of(services, request)
        region = _selected_region(services, sess)
        state = grounding.regenerate_section(services, reviewer, sess.case_id, region)
    except ServiceError as exc:
        return v.message(str(exc))
    fresh = Session(sess.case_id, review.first_pending(state), review.now_iso())
    return v.panel(services, fresh, reset=True, note=f"section {region!r} regenerated")
