"""Review actions: accept / edit / reject / add / move box / relink / replace mask / impression / sign.

Every function appends one :class:`storage.records.ReviewAction` through the repository (which commits
before returning) and returns the state re-derived from storage, so what the UI shows is what is stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from app.services import ServiceError, Services
from inference.records import Grounding, regions_for
from storage.records import (
    GROUNDING_CHOICES,
    IMPRESSION_ID,
    REASON_CODES,
    ActionKind,
    ReviewAction,
    ReviewState,
)
from storage.review import default_grounding, propose_impression, unusable_measurement

__all__ = [
    "Decision", "add_finding", "decide", "decide_impression", "default_grounding", "move_box",
    "regenerate_impression", "relink", "replace_mask", "review_state", "sign",
]


@dataclass(frozen=True)
class Decision:
    """What the reviewer entered next to a decision.

    Attributes:
        reason: A reason code (required for edit/reject/add), or ``None``.
        significant: Clinically significant error.
        comment: Free text.
        shown_at: When the finding was shown (ISO time), for time-per-finding.
    """

    reason: str | None = None
    significant: bool = False
    comment: str = ""
    shown_at: str | None = None

    def shown_datetime(self) -> datetime | None:
        """``shown_at`` parsed, or ``None``."""
        return datetime.fromisoformat(self.shown_at) if self.shown_at else None


def now_iso() -> str:
    """The current UTC time as ISO text (what ``gr.State`` keeps for ``shown_at``)."""
    return datetime.now(UTC).isoformat()


def review_state(services: Services, case_id: str) -> ReviewState | None:
    """The case's review state from storage, or ``None`` when it has no draft yet."""
    if not case_id or services.repo.latest_draft(case_id) is None:
        return None
    return services.repo.review_state(case_id)


def require_state(services: Services, case_id: str) -> ReviewState:
    """Like :func:`review_state` but a case without draft is an error for the reviewer."""
    state = review_state(services, case_id)
    if state is None:
        raise ServiceError(f"case {case_id!r} has no draft yet; press 'Generate draft' first")
    return state


def _commit(services: Services, action: ReviewAction) -> ReviewState:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from storage.repository import NotFoundError
    from storage.review import InvalidActionError, StaleVersionError

    try:
        services.repo.record_action(action)
    except (StaleVersionError, InvalidActionError, NotFoundError) as exc:
        raise ServiceError(f"not saved: {exc}") from None
    except (OperationalError, sqlite3.OperationalError) as exc:  # rolled back: nothing of it is stored
        raise ServiceError(database_failure(exc)) from None
    return services.repo.review_state(action.case_id)


def database_failure(exc: Exception) -> str:
    """The reviewer-facing message for a database that could not take a write (locked, disk full)."""
    detail = str(getattr(exc, "orig", exc))
    lowered = detail.lower()
    if "locked" in lowered or "busy" in lowered:
        return (
            "not saved: the database is busy (another process holds its write lock); "
            "nothing was recorded — try again in a moment"
        )
    if "full" in lowered or "disk" in lowered or "i/o" in lowered or "readonly" in lowered:
        return (
            f"not saved: the database file could not be written ({detail}); the disk may be full — "
            "nothing was recorded; ask the administrator to free space, then try again"
        )
    return f"not saved: database error ({detail}); nothing was recorded — try again"


def _action(state: ReviewState, reviewer: str, kind: str, decision: Decision, **fields: Any) -> ReviewAction:
    if state.signed:
        raise ServiceError(f"case {state.case_id!r} is signed by {state.signed_by}; signed reports are final")
    reason = decision.reason or None
    if kind in ("edit", "reject", "add") and reason is None:
        raise ServiceError(f"choose a reason code to {kind} ({', '.join(REASON_CODES)})")
    try:
        return ReviewAction(
            kind=cast(ActionKind, kind),
            case_id=state.case_id,
            draft_id=state.draft_id,
            reviewer=reviewer,
            reason=reason,
            clinically_significant=decision.significant,
            comment=decision.comment or "",
            shown_at=decision.shown_datetime(),
            **fields,
        )
    except ValueError as exc:
        raise ServiceError(str(exc)) from None


def _edited(text: str | None, before: str, unchanged: str) -> str:
    """The new text of an edit, stripped; an empty or unchanged one is refused with ``unchanged``."""
    new = (text or "").strip()
    if not new or new == before:
        raise ServiceError(unchanged)
    return new


def decide(
    services: Services,
    reviewer: str,
    case_id: str,
    finding_id: str,
    kind: str,
    decision: Decision,
    text: str | None = None,
    grounding: str | None = None,
) -> ReviewState:
    """Accept, edit or reject one finding.

    Args:
        services: Injected services.
        reviewer: Login of the reviewer acting.
        case_id: The open case.
        finding_id: The finding decided.
        kind: ``accept``, ``edit`` or ``reject``.
        decision: Reason code, significance, comment, shown time.
        text: The new text for ``edit``.
        grounding: For ``edit``, the reviewer's choice for the finding's boxes and masks: ``keep``,
            ``drop`` or ``reground`` (dropped now; the reviewer draws a new box next with
            :func:`move_box`). ``None`` applies :func:`default_grounding` (drop when the reason is
            ``wrong_location``/``grounding_error`` or the edit changes laterality or location words,
            keep otherwise). The stored action records the choice actually applied.

    Returns:
        The review state after the action was committed.

    Raises:
        ServiceError: no finding selected, missing reason, unchanged edit, unknown grounding choice,
            stale version, signed case.
    """
    if kind not in ("accept", "edit", "reject"):
        raise ServiceError(f"unknown decision {kind!r}")
    if not finding_id:
        raise ServiceError("select a finding first (j/k or click one in the report)")
    if grounding is not None and (kind != "edit" or grounding not in GROUNDING_CHOICES):
        raise ServiceError(f"grounding choice {grounding!r} applies to an edit only and must be one of "
                           f"{', '.join(GROUNDING_CHOICES)}")
    state = require_state(services, case_id)
    current = _finding_state(state, finding_id)
    fields: dict[str, Any] = {"finding_id": finding_id, "base_version": current.version}
    if kind == "edit":
        new = _edited(text, current.finding.text, "edit the text first (the finding text is unchanged)")
        choice = grounding or default_grounding(decision.reason, current.finding.text, new)
        fields.update(before_text=current.finding.text, after_text=new, grounding=choice)
    return _commit(services, _action(state, reviewer, kind, decision, **fields))


def decide_impression(
    services: Services,
    reviewer: str,
    case_id: str,
    kind: str,
    decision: Decision,
    text: str | None = None,
) -> ReviewState:
    """Accept or edit the impression (the current text: the draft's, an edit or a proposal).

    Args:
        services: Injected services.
        reviewer: Login of the reviewer acting.
        case_id: The open case.
        kind: ``accept`` or ``edit``.
        decision: Reason code (required for ``edit``), significance, comment, shown time.
        text: The new impression for ``edit``.

    Returns:
        The review state after the action was committed (``impression_status`` ``accepted`` or
        ``edited``).

    Raises:
        ServiceError: unknown kind, missing reason, unchanged edit, stale version, signed case.
    """
    if kind not in ("accept", "edit"):
        raise ServiceError(f"unknown impression decision {kind!r}; accept or edit it")
    state = require_state(services, case_id)
    fields: dict[str, Any] = {"finding_id": IMPRESSION_ID, "base_version": state.impression_version}
    if kind == "edit":
        new = _edited(text, state.impression or "", "edit the impression first (its text is unchanged)")
        fields.update(before_text=state.impression, after_text=new)
    return _commit(services, _action(state, reviewer, kind, decision, **fields))


def regenerate_impression(services: Services, reviewer: str, case_id: str) -> ReviewState:
    """Propose an impression built from the reviewed findings (rejected out, edited text in).

    The proposal replaces the impression's text with status ``proposed``: the reviewer still accepts
    or edits it (:func:`decide_impression`) before signing. See :func:`storage.review.propose_impression`.
    """
    state = require_state(services, case_id)
    proposal = propose_impression(state)
    action = _action(state, reviewer, "regenerate", Decision(), finding_id=IMPRESSION_ID,
                     before_text=state.impression, after_text=proposal, base_version=state.version)
    return _commit(services, action)


def add_finding(
    services: Services,
    reviewer: str,
    case_id: str,
    region: str,
    text: str,
    decision: Decision,
    box: tuple[float, ...] | None = None,
) -> ReviewState:
    """Add a finding the draft missed to ``region`` (reason defaults to ``missed_finding``)."""
    state = require_state(services, case_id)
    if region not in regions_for(state.kind):
        raise ServiceError(
            f"region {region!r} is not a {state.kind.upper()} region ({', '.join(regions_for(state.kind))})"
        )
    if not (text or "").strip():
        raise ServiceError("type the missed finding's text first")
    if decision.reason is None:
        decision = Decision("missed_finding", decision.significant, decision.comment, decision.shown_at)
    grounding = Grounding(boxes=(box,), source="reviewer") if box else None
    action = _action(
        state, reviewer, "add", decision, region=region, after_text=text.strip(), after_grounding=grounding
    )
    return _commit(services, action)


def move_box(
    services: Services,
    reviewer: str,
    case_id: str,
    finding_id: str,
    box: tuple[float, ...],
    phrase_index: int | None = None,
) -> ReviewState:
    """Replace the box of one phrase of a finding (``move_box``; reason ``grounding_error``).

    ``phrase_index`` defaults to the first phrase that has a box (or 0, or a new whole-finding phrase).
    """
    return _reground(services, reviewer, case_id, finding_id, "move_box",
                     lambda phrases: phrase_index if phrase_index is not None else _boxed_phrase(phrases),
                     boxes=(tuple(float(v) for v in box),))


def _boxed_phrase(phrases: tuple[Any, ...]) -> int:
    for i, phrase in enumerate(phrases):
        if phrase.grounding is not None and phrase.grounding.boxes:
            return i
    return 0


def _finding_state(state: ReviewState, finding_id: str) -> Any:
    if not finding_id:
        raise ServiceError("select a finding first (j/k or click one in the report)")
    try:
        return state.state_of(finding_id)
    except KeyError as exc:
        raise ServiceError(str(exc).strip("'\"")) from None


def relink(services: Services, reviewer: str, case_id: str, finding_id: str, region: str) -> ReviewState:
    """Move a finding to another region's section (``relink_region``; reason ``wrong_location``)."""
    state = require_state(services, case_id)
    current = _finding_state(state, finding_id)
    if region not in regions_for(state.kind):
        raise ServiceError(f"region {region!r} is not a {state.kind.upper()} region")
    if region == current.finding.region:
        raise ServiceError(f"the finding is already in {region!r}")
    action = _action(
        state,
        reviewer,
        "relink_region",
        Decision("wrong_location"),
        finding_id=finding_id,
        region=region,
        base_version=current.version,
    )
    return _commit(services, action)


def replace_mask(
    services: Services,
    reviewer: str,
    case_id: str,
    finding_id: str,
    mask_ref: str,
    phrase_index: int | None = None,
) -> ReviewState:
    """Point a phrase at another stored mask (``edit_mask``; reason ``grounding_error``)."""
    return _reground(services, reviewer, case_id, finding_id, "edit_mask",
                     lambda phrases: phrase_index if phrase_index is not None else 0, mask_ref=mask_ref)


def _reground(services: Services, reviewer: str, case_id: str, finding_id: str, kind: str,
              pick: Callable[[tuple[Any, ...]], int], **changes: Any) -> ReviewState:
    """Commit a grounding correction of one phrase: its grounding (or an empty one) with ``changes``,
    marked ``source="reviewer"``; the other parts of the grounding are kept."""
    state = require_state(services, case_id)
    current = _finding_state(state, finding_id)
    phrases = current.finding.phrases
    index = pick(phrases)
    before = phrases[index].grounding if index < len(phrases) else None
    after = dataclasses.replace(before or Grounding(), source="reviewer", **changes)
    action = _action(
        state,
        reviewer,
        kind,
        Decision("grounding_error"),
        finding_id=finding_id,
        phrase_index=index,
        before_grounding=before,
        after_grounding=after,
        base_version=current.version,
    )
    return _commit(services, action)


def sign(services: Services, reviewer: str, case_id: str) -> ReviewState:
    """Sign the report: every finding and the impression must be decided; the signed report is final."""
    state = require_state(services, case_id)
    pending = [s.finding.id for s in state.findings if not s.decided]
    if pending:
        raise ServiceError(
            f"cannot sign: {len(pending)} finding(s) still pending — decide each "
            "(accept a / edit e / reject r) first"
        )
    if not state.impression_decided:
        raise ServiceError(
            f"cannot sign: the impression is {state.impression_status} — accept or edit it "
            "(or regenerate it from the reviewed findings, then accept) first"
        )
    bad = [f.text for s in state.reviewed_sections() for f in s.findings if unusable_measurement(f.text)]
    if bad:
        raise ServiceError(
            f"cannot sign: {len(bad)} kept finding(s) state a NaN or zero-volume measurement "
            f"({bad[0]!r}); edit or reject them first"
        )
    return _commit(services, _action(state, reviewer, "sign", Decision(), base_version=state.version))


def neighbour_finding(state: ReviewState | None, finding_id: str | None, step: int) -> str | None:
    """The id of the next (``step`` = 1) or previous (-1) finding, wrapping around; the first when none."""
    if state is None or not state.findings:
        return None
    ids = [s.finding.id for s in state.findings]
    if finding_id not in ids:
        return ids[0]
    return ids[(ids.index(finding_id) + step) % len(ids)]


def first_pending(state: ReviewState | None, after: str | None = None) -> str | None:
    """The first undecided finding after ``after`` (wrapping), or the selection when all are decided."""
    if state is None:
        return None
    ids = [s.finding.id for s in state.findings]
    start = ids.index(after) + 1 if after in ids else 0
    for fs in list(state.findings[start:]) + list(state.findings[:start]):
        if not fs.decided:
            return fs.finding.id
    return after if after in ids else (ids[0] if ids else None)
