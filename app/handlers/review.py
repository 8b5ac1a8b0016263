"""Review panel: select a finding (row click, ``j``/``k``), phrase, accept / edit / reject, add a missed
finding, relink, sign, and the reason-dependent state of the buttons.

A review action the reviewer must fix (no reason code, unchanged text, pending findings at signing,
a stale version) returns :func:`app.handlers.view.message`: only the line beside the buttons changes,
so the image, the typed text and the chosen reason stay. Nothing here raises for a user error.
"""

import gradio as gr

from app.callbacks import review
from app.handlers import view as v
from app.handlers.common import Session, reviewer_of
from app.services import ServiceError, Services
from storage.records import ReviewState

REASON_NEEDED = v.REASON_NEEDED


def pick_finding(state: ReviewState | None, finding_id: str | None) -> str | None:
    """``finding_id`` when the state has that finding, else ``None``."""
    if state is None or not finding_id:
        return None
    return finding_id if any(fs.finding.id == finding_id for fs in state.findings) else None


def select_finding(services: Services, sess: Session, finding_id: str | None) -> v.ReviewView:
    """Select a finding (a click on its row): the panel refilled for it, the viewer jumps to it."""
    finding_id = (finding_id or "").strip() or None
    if not sess.case_id:
        return v.message("open a case from the worklist first")
    state = review.review_state(services, sess.case_id)
    if pick_finding(state, finding_id) is None:
        return v.message(f"no finding {finding_id!r} in {sess.case_id}; reload the page")
    if finding_id == sess.selected:
        return v.panel(services, sess)  # the same row again: keep what was typed
    return v.panel(services, Session(sess.case_id, finding_id, review.now_iso()), reset=True)


def step_finding(services: Services, sess: Session, step: int) -> v.ReviewView:
    """``j``/``k``: the next/previous finding (wrapping)."""
    state = review.review_state(services, sess.case_id)
    if state is None:
        return v.message("no draft yet — press Generate draft")
    return select_finding(services, sess, review.neighbour_finding(state, sess.selected, step))


def select_phrase(services: Services, sess: Session, phrase: str | None) -> v.ReviewView:
    """Choose one phrase of the selected finding: the viewer jumps to its grounding, and a box drawn
    next goes to it."""
    if not sess.selected or phrase in (None, ""):
        return v.ReviewView()
    try:
        index = int(str(phrase))
    except ValueError:
        return v.message(f"unknown phrase {phrase!r}; pick one from the phrase list")
    state = review.require_state(services, sess.case_id)
    if not 0 <= index < len(state.state_of(sess.selected).finding.phrases):
        return v.message(f"finding {sess.selected} has no phrase {index}; reload the page")
    return v.ReviewView(viewer_state=v.viewer_state_text(services, sess, {"phrase": index}))


def buttons(reason: str | None) -> v.ReviewView:
    """*Save edit* and *Reject* are enabled once a reason code is chosen; the hint says why not."""
    ready = bool(reason)
    return v.ReviewView(
        edit=gr.update(interactive=ready),
        reject=gr.update(interactive=ready),
        message="" if ready else v._message_html(REASON_NEEDED, "hint"),
    )


def grounding_hint(services: Services, sess: Session, reason: str | None, text: str) -> v.ReviewView:
    """The grounding choice's label names what an edit does to the box by default (the rule of
    :func:`app.callbacks.review.default_grounding`: drop for a location/grounding error or changed
    laterality/location words, else keep)."""
    if not sess.selected or not sess.case_id:
        return v.ReviewView()
    state = review.review_state(services, sess.case_id)
    if state is None or pick_finding(state, sess.selected) is None:
        return v.ReviewView()
    before = state.state_of(sess.selected).finding.text
    rule = review.default_grounding(reason, before, text or before)
    return v.ReviewView(grounding=gr.update(label=f"box on edit (default: {rule})"))


def decide(
    services: Services,
    sess: Session,
    text: str,
    reason: str | None,
    significant: bool,
    comment: str,
    grounding: str | None,
    request: gr.Request,
    *,
    kind: str,
) -> v.ReviewView:
    """Accept / edit / reject (``kind``, bound at wiring) the selected finding, then select the next
    pending one. ``grounding`` (edit only): ``keep``/``drop``/``reground``, or ``None`` for the
    default rule."""
    try:
        reviewer = reviewer_of(services, request)
        decision = review.Decision(reason or None, bool(significant), comment or "", sess.shown_at)
        choice = (grounding or None) if kind == "edit" else None
        state = review.decide(
            services, reviewer, sess.case_id, sess.selected or "", kind, decision, text, grounding=choice
        )
    except ServiceError as exc:
        return v.message(str(exc))
    if kind == "edit" and grounding == "reground":  # stay on the finding, box tool armed for the new box
        arm = {"tool": "box", "at": review.now_iso()}  # ``at``: a new request each time
        return v.panel(services, sess, reset=True, view=arm,
                       note="edit saved — the box tool is armed: drag the new box on the image")
    nxt = review.first_pending(state, sess.selected)
    if nxt and nxt != sess.selected:
        return v.panel(services, Session(sess.case_id, nxt, review.now_iso()), reset=True)
    return v.panel(services, sess, reset=True)


def add_finding(
    services: Services,
    sess: Session,
    region: str,
    text: str,
    reason: str | None,
    significant: bool,
    request: gr.Request,
) -> v.ReviewView:
    """Add a missed finding to a section and select it."""
    try:
        reviewer = reviewer_of(services, request)
        decision = review.Decision(reason or None, bool(significant), "", sess.shown_at)
        state = review.add_finding(services, reviewer, sess.case_id, region, text, decision)
    except ServiceError as exc:
        return v.message(str(exc))
    added = Session(sess.case_id, state.findings[-1].finding.id, review.now_iso())
    return v.panel(services, added, reset=True, note="missed finding added").but(add_text="")


def relink(services: Services, sess: Session, region: str, request: gr.Request) -> v.ReviewView:
    """Move the selected finding to another region."""
    try:
        review.relink(services, reviewer_of(services, request), sess.case_id, sess.selected or "", region)
    except ServiceError as exc:
        return v.message(str(exc))
    return v.panel(services, sess, note=f"moved to {region}")


def sign(services: Services, sess: Session, request: gr.Request) -> v.ReviewView:
    """Sign the report (every finding and the impression decided)."""
    try:
        review.sign(services, reviewer_of(services, request), sess.case_id)
    except ServiceError as exc:
        return v.message(str(exc))
    return v.panel(services, sess, note=f"{sess.case_id} signed — n for the next case")


def refresh(services: Services, sess: Session) -> v.ReviewView:
    """The panel after a viewer event (a box drawn, a brush stroke, undo) was stored."""
    return v.panel(services, sess)


def impression_decision(
    services: Services,
    sess: Session,
    text: str,
    reason: str | None,
    significant: bool,
    comment: str,
    request: gr.Request,
    *,
    kind: str,
) -> v.ReviewView:
    """Accept the impression, or save its edited text (``kind``, bound at wiring; an edit needs the
    reason code chosen in the action bar). Signing needs the impression decided."""
    try:
        reviewer = reviewer_of(services, request)
        decision = review.Decision(reason or None, bool(significant), comment or "", sess.shown_at)
        review.decide_impression(services, reviewer, sess.case_id, kind, decision, text)
    except ServiceError as exc:
        return v.ReviewView(impression_status=v._message_html(str(exc), "error"))
    return v.panel(services, sess, impression=True, note="impression saved" if kind == "edit" else "")


def regenerate_impression(services: Services, sess: Session, request: gr.Request) -> v.ReviewView:
    """Propose an impression from the reviewed findings (accept or edit it next)."""
    try:
        review.regenerate_impression(services, reviewer_of(services, request), sess.case_id)
    except ServiceError as exc:
        return v.ReviewView(impression_status=v._message_html(str(exc), "error"))
    return v.panel(services, sess, impression=True)
