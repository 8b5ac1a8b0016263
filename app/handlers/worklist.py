"""Worklist panel: the table, opening a case (also from the address on page load), next case, upload."""

from typing import Any

import gradio as gr

from app.callbacks import review, worklist
from app.callbacks import viewer as viewer_cb
from app.handlers import view as v
from app.handlers.common import Session, reviewer_of
from app.handlers.review import pick_finding
from app.services import ServiceError, Services

PLANES: tuple[str, ...] = ("axial", "coronal", "sagittal")


def worklist_view(services: Services, status: str, search: str, request: gr.Request) -> tuple[Any, str]:
    """Worklist rows and the reviewer's progress line."""
    reviewer = reviewer_of(services, request)
    return worklist.rows(services, status, search), worklist.progress_text(services, reviewer)


def table_select(evt: gr.SelectData) -> str:
    """The case id of the clicked worklist row."""
    row = getattr(evt, "row_value", None)
    return str(row[0]) if row else ""


def open_case(services: Services, case_id: str, request: gr.Request) -> v.ReviewView:
    """Open a case: the first pending finding selected, the Review tab shown.

    Raises:
        ServiceError: Unknown case or unreadable study.
    """
    reviewer_of(services, request)
    case_id = (case_id or "").strip()
    if not case_id:
        raise ServiceError("type or click a case id first")
    services.record(case_id)
    services.study(case_id)
    state = review.review_state(services, case_id)
    return v.opened(services, Session(case_id, review.first_pending(state), review.now_iso()))


def requested_view(services: Services, case_id: str, query: dict[str, str]) -> dict[str, Any] | None:
    """The plane/slice of the address (``?plane=…&slice=…``) checked against the case's image: a plane
    it does not have is ignored, a slice past the end is clamped; ``None`` when neither is given."""
    image = services.study(case_id).primary
    planes = PLANES if image.is_volume else ("image",)
    plane = query.get("plane") if query.get("plane") in planes else None
    out: dict[str, Any] = {"plane": plane} if plane else {}
    if (query.get("slice") or "").isdigit():
        n = viewer_cb.slice_count(image, plane or planes[0])
        out["slice"] = min(int(query["slice"]), n - 1)
    return out or None


def restore(services: Services, request: gr.Request) -> v.ReviewView:
    """Page load: reopen the case, finding, plane and slice named in the address; without ``case`` the
    page starts at the worklist (nothing is sent)."""
    query = {k: str(val) for k, val in dict(getattr(request, "query_params", None) or {}).items()}
    case_id = (query.get("case") or "").strip()
    if not case_id:
        return v.ReviewView(sess=Session())
    reviewer_of(services, request)
    services.record(case_id)
    state = review.review_state(services, case_id)
    selected = pick_finding(state, query.get("finding")) or review.first_pending(state)
    sess = Session(case_id, selected, review.now_iso())
    return v.opened(services, sess, requested_view(services, case_id, query))


def next_case(services: Services, sess: Session, request: gr.Request) -> v.ReviewView:
    """Open the next unreviewed case (``n``); says so when none is left."""
    nxt = worklist.next_unreviewed(services, reviewer_of(services, request), sess.case_id or None)
    if nxt is None:
        return v.message("no unreviewed case left — all done")
    return open_case(services, nxt, request)


def upload(
    services: Services,
    path: str | None,
    case_id: str,
    indication: str,
    prior_case: str,
    prior_report: str,
    lateral: str | None,
    series: str,
    request: gr.Request,
) -> v.ReviewView:
    """Upload a study and open it."""
    reviewer = reviewer_of(services, request)
    cid = worklist.upload(
        services,
        reviewer,
        path,
        case_id=case_id or "",
        indication=indication or "",
        prior_case=prior_case or "",
        prior_report=prior_report or "",
        lateral=lateral,
        series=series or "",
    )
    gr.Info(f"uploaded as {cid}")
    return open_case(services, cid, request)
