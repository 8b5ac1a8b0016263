"""Derive a case's review state from its immutable draft and append-only actions (pure functions).

Each action kind has one small handler ``(state, action) -> state``; :func:`apply_actions` folds the
actions in order. :func:`check_version` is the optimistic-lock rule storage applies before appending.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

from inference.records import Draft, Finding, Grounding, Phrase
from storage.records import FindingState, ReviewAction, ReviewState


class StaleVersionError(RuntimeError):
    """Another reviewer changed the finding (or case) after this reviewer saw it."""


class InvalidActionError(ValueError):
    """The action does not fit the current state (unknown finding, signing with pending findings…)."""


def initial_state(draft: Draft, draft_id: str, kind: str) -> ReviewState:
    """The state of a draft before any action: every finding pending."""
    findings = tuple(FindingState(finding=f, original=f) for f in draft.findings)
    return ReviewState(case_id=draft.case_id, draft_id=draft_id, kind=kind, findings=findings,
                       impression=draft.impression)


def _replace_finding(state: ReviewState, new: FindingState) -> ReviewState:
    fid = new.finding.id
    findings = tuple(new if s.finding.id == fid else s for s in state.findings)
    return dataclasses.replace(state, findings=findings)


def _bump(old: FindingState, action: ReviewAction, **changes: object) -> FindingState:
    reason = action.reason if action.reason is not None else old.reason
    significant = action.clinically_significant or old.clinically_significant
    return dataclasses.replace(old, version=old.version + 1, reason=reason,
                               clinically_significant=significant, **changes)  # type: ignore[arg-type]


def _rephrase(phrases: Iterable[Phrase], text: str) -> tuple[Phrase, ...]:
    """Keep the phrases still present in edited text, with their spans recomputed."""
    kept = []
    for phrase in phrases:
        start = text.find(phrase.text)
        if start >= 0:
            kept.append(dataclasses.replace(phrase, span=(start, start + len(phrase.text))))
    return tuple(kept)


def _accept(state: ReviewState, a: ReviewAction) -> ReviewState:
    old = state.state_of(a.finding_id or "")
    status = "added" if old.status == "added" else "accepted" if old.status != "edited" else "edited"
    return _replace_finding(state, _bump(old, a, status=status))


def _edit(state: ReviewState, a: ReviewAction) -> ReviewState:
    old = state.state_of(a.finding_id or "")
    text = a.after_text or ""
    finding = dataclasses.replace(old.finding, text=text, phrases=_rephrase(old.finding.phrases, text))
    status = "added" if old.status == "added" else "edited"
    return _replace_finding(state, _bump(old, a, finding=finding, status=status))


def _reject(state: ReviewState, a: ReviewAction) -> ReviewState:
    old = state.state_of(a.finding_id or "")
    return _replace_finding(state, _bump(old, a, status="rejected"))


def _add(state: ReviewState, a: ReviewAction) -> ReviewState:
    fid = a.finding_id or f"added-{a.id if a.id is not None else len(state.actions)}"
    if any(s.finding.id == fid for s in state.findings):
        raise InvalidActionError(f"finding id {fid!r} already exists in case {state.case_id!r}")
    phrases: tuple[Phrase, ...] = ()
    if a.after_grounding is not None:
        phrases = (Phrase(text=a.after_text or "", span=(0, len(a.after_text or "")),
                          grounding=a.after_grounding),)
    finding = Finding(id=fid, region=a.region or "other", text=a.after_text or "", phrases=phrases,
                      origin="reviewer")
    new = FindingState(finding=finding, status="added", version=1, reason=a.reason,
                       clinically_significant=a.clinically_significant)
    return dataclasses.replace(state, findings=(*state.findings, new))


def _set_grounding(state: ReviewState, a: ReviewAction) -> ReviewState:
    old = state.state_of(a.finding_id or "")
    phrases = list(old.finding.phrases)
    index = a.phrase_index if a.phrase_index is not None else 0
    grounding = a.after_grounding or Grounding(source="reviewer")
    if index == len(phrases):  # grounding the whole finding where it had no phrase
        phrases.append(Phrase(text=old.finding.text, span=(0, len(old.finding.text)), grounding=grounding))
    elif 0 <= index < len(phrases):
        phrases[index] = dataclasses.replace(phrases[index], grounding=grounding)
    else:
        raise InvalidActionError(
            f"finding {old.finding.id!r} has {len(phrases)} phrases; phrase_index {index} is out of range")
    finding = dataclasses.replace(old.finding, phrases=tuple(phrases))
    return _replace_finding(state, _bump(old, a, finding=finding))


def _relink(state: ReviewState, a: ReviewAction) -> ReviewState:
    old = state.state_of(a.finding_id or "")
    if not a.region:
        raise InvalidActionError("relink_region needs the target region")
    finding = dataclasses.replace(old.finding, region=a.region)
    return _replace_finding(state, _bump(old, a, finding=finding))


def _sign(state: ReviewState, a: ReviewAction) -> ReviewState:
    if state.signed:
        raise InvalidActionError(f"case {state.case_id!r} was already signed by {state.signed_by}")
    pending = [s.finding.id for s in state.findings if not s.decided]
    if pending:
        raise InvalidActionError(f"cannot sign case {state.case_id!r}: {len(pending)} finding(s) still "
                                 f"pending ({', '.join(pending[:5])})")
    return dataclasses.replace(state, signed_by=a.reviewer, signed_at=a.acted_at)


def _regenerate(state: ReviewState, a: ReviewAction, drafts: Mapping[str, Draft]) -> ReviewState:
    if not a.new_draft_id or a.new_draft_id not in drafts:
        raise InvalidActionError(f"regenerate refers to unknown draft {a.new_draft_id!r}")
    new_draft = drafts[a.new_draft_id]
    regions = {a.region} if a.region else {s.region for s in new_draft.sections}
    kept = tuple(s for s in state.findings
                 if s.finding.region not in regions or s.decided)
    fresh = tuple(FindingState(finding=f, original=f) for f in new_draft.findings if f.region in regions)
    clash = {s.finding.id for s in kept} & {s.finding.id for s in fresh}
    if clash:
        raise InvalidActionError(f"regenerated draft {a.new_draft_id!r} reuses finding ids {sorted(clash)} "
                                 f"of findings kept in case {state.case_id!r}; give new findings new ids")
    return dataclasses.replace(state, findings=kept + fresh)


_HANDLERS: dict[str, Callable[[ReviewState, ReviewAction], ReviewState]] = {
    "accept": _accept, "edit": _edit, "reject": _reject, "add": _add, "move_box": _set_grounding,
    "edit_mask": _set_grounding, "relink_region": _relink, "sign": _sign,
}


def apply_action(state: ReviewState, action: ReviewAction,
                 drafts: Mapping[str, Draft] | None = None) -> ReviewState:
    """Apply one action and return the new state (the input is not changed).

    Args:
        state: The state before the action.
        action: The action to apply.
        drafts: Drafts by id, needed for ``regenerate`` actions.

    Raises:
        InvalidActionError: The action does not fit the state.
    """
    if state.signed:
        raise InvalidActionError(f"case {state.case_id!r} is signed; signed reports are final")
    try:
        if action.kind == "regenerate":
            new = _regenerate(state, action, drafts or {})
        else:
            new = _HANDLERS[action.kind](state, action)
    except KeyError as exc:
        raise InvalidActionError(str(exc).strip("'\"")) from None
    return dataclasses.replace(new, actions=(*state.actions, action))


def apply_actions(draft: Draft, draft_id: str, kind: str, actions: Iterable[ReviewAction],
                  drafts: Mapping[str, Draft] | None = None) -> ReviewState:
    """Fold actions over a draft's initial state (see :func:`apply_action`)."""
    state = initial_state(draft, draft_id, kind)
    for action in actions:
        state = apply_action(state, action, drafts)
    return state


def check_version(state: ReviewState, action: ReviewAction) -> None:
    """The optimistic-lock rule: the reviewer must have seen the latest version.

    Finding actions compare ``base_version`` with the finding's version; ``sign`` and
    ``regenerate`` compare it with the case's action count; ``add`` is never stale.

    Raises:
        StaleVersionError: naming who must reload what.
    """
    if action.kind == "add":
        return
    if action.kind in ("sign", "regenerate"):
        current, what = state.version, f"case {state.case_id!r}"
    else:
        current, what = state.state_of(action.finding_id or "").version, f"finding {action.finding_id!r}"
    if action.base_version != current:
        last = state.actions[-1].reviewer if state.actions else "someone"
        raise StaleVersionError(
            f"{what} changed since you opened it (your version {action.base_version}, now {current}, "
            f"last change by {last}); reload to see it before deciding")
