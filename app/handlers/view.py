"""The review view model: one named structure for everything the Review tab shows.

Handlers return a :class:`ReviewView`; each field is named after the layout component it updates (the
keys of the component dict built in :mod:`app.build`), and a field left at ``KEEP`` is not sent at
all. :mod:`app.wiring` turns ``view.updates()`` into ``{component: value}`` at wiring time, so layout,
handlers and tests share names, never positions.

What is sent when: opening a case sends everything (:func:`full`); a decision, a selection or a
grounding edit sends the report panel and the small viewer-state text (:func:`panel`); a refused
action sends only ``message`` (the image, the typed text and the chosen reason stay as they are).
"""

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import gradio as gr

from app import viewer_bridge
from app.callbacks import render, review
from app.callbacks import viewer as viewer_cb
from app.handlers.common import KEEP, Session
from app.services import Services
from inference.records import regions_for

if TYPE_CHECKING:
    from storage.records import ReviewState

REASON_NEEDED = "choose a reason code to save an edit or reject"
GROUNDING_CHOICES: tuple[tuple[str, str], ...] = (
    ("keep box", "keep"),
    ("drop box", "drop"),
    ("re-ground (draw)", "reground"),
)


@dataclass(frozen=True)
class ReviewView:
    """Updates of the Review tab, by component name (``KEEP``: leave that component alone).

    Attributes:
        sess: The per-user :class:`Session` (``gr.State``).
        header: Case line (id, kind, indication, prior) and the draft's provenance.
        report: The region-structured report (findings listed once; a click selects one).
        text: The selected finding's text box (sent only when the selection changes).
        reason: Reason-code dropdown.
        significant: Clinically-significant checkbox.
        comment: Free comment.
        grounding: What an edit does to the finding's box: keep / drop / re-ground.
        phrase: Phrase dropdown of the selected finding.
        message: The line beside the action buttons (refusals, hints, confirmations).
        signed: The signed report and its draft→signed diff.
        viewer_state: The JSON text the browser viewer loads from (:mod:`app.viewer_bridge`).
        query: ``case=…&finding=…`` for the address bar (the viewer adds plane/slice).
        edit: The *Save edit* button (enabled once a reason is chosen).
        reject: The *Reject* button (enabled once a reason is chosen).
        impression: The impression text box.
        impression_status: The impression's status line.
        add_region: Region choices for *Add missed*.
        add_text: The missed finding's text box (cleared once added).
        relink_region: Region choices for *Relink*.
        tabs: The top-level tabs (switch to Review on open).
        gen_status: Draft generation's status line.
    """

    sess: Any = KEEP
    header: Any = KEEP
    report: Any = KEEP
    text: Any = KEEP
    reason: Any = KEEP
    significant: Any = KEEP
    comment: Any = KEEP
    grounding: Any = KEEP
    phrase: Any = KEEP
    message: Any = KEEP
    signed: Any = KEEP
    viewer_state: Any = KEEP
    query: Any = KEEP
    edit: Any = KEEP
    reject: Any = KEEP
    impression: Any = KEEP
    impression_status: Any = KEEP
    add_region: Any = KEEP
    add_text: Any = KEEP
    relink_region: Any = KEEP
    tabs: Any = KEEP
    gen_status: Any = KEEP

    def updates(self) -> dict[str, Any]:
        """``{component name: value}`` for every field that is not ``KEEP``."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not KEEP
        }

    def but(self, **changes: Any) -> "ReviewView":
        """A copy with ``changes`` (shorthand for :func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ReviewView))


def message(text: str) -> ReviewView:
    """Only the message line: what a refused review action returns."""
    return ReviewView(message=_message_html(text, "error"))


def _message_html(text: str, kind: str = "info") -> str:
    import html

    return f'<span class="rr-msg rr-msg-{kind}">{html.escape(text)}</span>' if text else ""


def viewer_state_text(services: Services, sess: Session, view: dict[str, Any] | None = None) -> str:
    """:func:`app.viewer_bridge.viewer_state` for this session (``""`` when no case is open)."""
    if not sess.case_id:
        return ""
    return viewer_bridge.viewer_state(services, sess.case_id, sess.selected, view)


def view_query(sess: Session) -> str:
    """``case=…&finding=…``: what :mod:`app.keyboard` writes into the address (the viewer adds
    ``plane``/``slice`` itself), so a reload or a shared link reopens the same view."""
    if not sess.case_id:
        return ""
    return urlencode({k: v for k, v in {"case": sess.case_id, "finding": sess.selected or ""}.items() if v})


def header_text(services: Services, case_id: str, state: "ReviewState | None") -> str:
    """One compact header: case, kind, image, indication, prior, lateral, draft provenance."""
    if not case_id:
        return "### Open a case from the worklist"
    record = services.record(case_id)
    img = services.study(case_id).primary
    bits = [f"**{case_id}** · {record.kind.upper()} · {img.modality} {'×'.join(map(str, img.shape))}"]
    if record.indication:
        bits.append(f"**Indication:** {record.indication}")
    bits.append(
        f"**Prior:** {record.prior_case_id or 'none'}" + (" (report given)" if record.prior_report else "")
    )
    if services.study(case_id).lateral is not None:
        bits.append("**Lateral:** given")
    line = " · ".join(bits)
    if state is not None:
        draft = services.repo.get_draft(state.draft_id)
        line += f"  \n<span class='rr-provenance'>{render.provenance_text(draft.provenance)}</span>"
    return line


def _phrases(state: Any, selected: str | None, reset: bool) -> Any:
    choices = viewer_cb.phrase_choices(state.state_of(selected) if state and selected else None)
    return gr.update(choices=choices, value=None) if reset else gr.update(choices=choices)


def panel(
    services: Services,
    sess: Session,
    *,
    reset: bool = False,
    view: dict[str, Any] | None = None,
    note: str = "",
    impression: bool = False,
) -> ReviewView:
    """The report panel for the stored state of ``sess``'s case, plus the viewer-state text.

    Args:
        services: The injected services.
        sess: The session; a selection the state no longer has is dropped.
        reset: A new finding is selected (or a decision was stored): refill the text box, clear the
            reason, significance and comment, disable *Save edit*/*Reject*, reset the grounding choice.
            Without it, what the reviewer typed is left alone.
        view: Plane/slice/phrase for the viewer (address bar, phrase jump), passed to the bridge.
        note: A confirmation for the message line.
        impression: Refill the impression text box (after an impression action) even without ``reset``.
    """
    if not sess.case_id:
        return ReviewView(
            sess=sess,
            report=render.report_html(None),
            signed="",
            viewer_state="",
            query="",
            message="",
            text="" if reset else KEEP,
            phrase=gr.update(choices=[], value=None),
        )
    state = review.review_state(services, sess.case_id)
    ids = {fs.finding.id for fs in state.findings} if state else set()
    selected = sess.selected if sess.selected in ids else None
    sess = dataclasses.replace(sess, selected=selected)
    signed = (
        render.signed_html(services.repo.get_draft(state.draft_id), state) if state and state.signed else ""
    )
    out = ReviewView(
        sess=sess,
        report=render.report_html(state, selected),
        phrase=_phrases(state, selected, reset),
        signed=signed,
        viewer_state=viewer_state_text(services, sess, view),
        query=view_query(sess),
        message=_message_html(note, "ok") if note else KEEP,
        impression_status=impression_line(state),
    )
    if impression or reset:
        out = out.but(impression=state.impression or "" if state else "")
    if not reset:
        return out
    text = state.state_of(selected).finding.text if state and selected else ""
    return out.but(
        message=_message_html(note, "ok")
        if note
        else _message_html(REASON_NEEDED if selected else "", "hint"),
        text=text,
        reason=gr.update(value=None),
        significant=False,
        comment="",
        grounding="keep",
        edit=gr.update(interactive=False),
        reject=gr.update(interactive=False),
    )


def impression_line(state: "ReviewState | None") -> str:
    """The impression's status beside its buttons (signing needs it accepted or edited)."""
    if state is None:
        return ""
    status = str(getattr(state, "impression_status", "pending"))
    hint = {
        "pending": "pending — accept or edit it before signing",
        "proposed": "proposed from the reviewed findings — accept or edit it",
        "accepted": "accepted",
        "edited": "edited",
    }.get(status, status)
    kind = "ok" if status in ("accepted", "edited") else "hint"
    return _message_html(f"impression {hint}", kind)


def full(services: Services, sess: Session, view: dict[str, Any] | None = None, note: str = "") -> ReviewView:
    """Everything of the Review tab: the panel (reset) and the header."""
    state = review.review_state(services, sess.case_id) if sess.case_id else None
    return panel(services, sess, reset=True, view=view, note=note).but(
        header=header_text(services, sess.case_id, state)
    )


def opened(services: Services, sess: Session, view: dict[str, Any] | None = None) -> ReviewView:
    """:func:`full` plus what changes with the case (region choices) and the switch to the Review tab."""
    regions = list(regions_for(services.study(sess.case_id).kind))
    return full(services, sess, view).but(
        add_region=gr.update(choices=regions, value=regions[0]),
        relink_region=gr.update(choices=regions, value=regions[0]),
        tabs=gr.Tabs(selected="review"),
        gen_status=services.generator.label(),
    )
