"""Derive a case's review state from its immutable draft and append-only actions (pure functions).

Each action kind has one small handler ``(state, action) -> state``; :func:`apply_actions` folds the
actions in order. :func:`check_version` is the optimistic-lock rule storage applies before appending.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

from inference.records import Draft, Finding, Grounding, Phrase, regions_for
from storage.records import IMPRESSION_ID, FindingState, ReviewAction, ReviewState

# Words that say where: a change in them moves the finding, so its old box no longer fits.
_LOCATION_WORDS = frozenset({
    "anterior", "apex", "apical", "apices", "basal", "base", "bases", "basilar", "bilateral",
    "bilaterally", "both", "cardiophrenic", "central", "costophrenic", "hila", "hilar", "hilum",
    "inferior", "lateral", "left", "lingula", "lingular", "lll", "lobar", "lobe", "lower", "lul",
    "medial", "mid", "middle", "paramediastinal", "paratracheal", "perihilar", "peripheral",
    "posterior", "retrocardiac", "right", "rll", "rml", "rul", "segment", "segmental", "subpleural",
    "subsegmental", "superior", "unilateral", "upper", "zone", "zones",
})
_LEVEL = re.compile(r"^(\d+(st|nd|rd|th)|[ctls]\d{1,2}|first|second|third|fourth|fifth|sixth|"
                    r"seventh|eighth|ninth|tenth|eleventh|twelfth)$")
_REGROUND_REASONS = frozenset({"wrong_location", "grounding_error"})
_NORMAL = re.compile(r"^\s*(no|there is no|there are no|without)\b|\b(normal|unremarkable|clear|"
                     r"within normal limits|not enlarged|intact)\b", re.IGNORECASE)
_NO_FINDING_IMPRESSION = {"cxr": "No acute cardiopulmonary abnormality.", "ct": "No acute abnormality."}
_CONTENT_KINDS = frozenset({"edit", "reject", "add", "relink_region", "regenerate"})


class StaleVersionError(RuntimeError):
    """Another reviewer changed the finding (or case) after this reviewer saw it."""


class InvalidActionError(ValueError):
    """The action does not fit the current state (unknown finding, signing with pending findings…)."""


def initial_state(draft: Draft, draft_id: str, kind: str) -> ReviewState:
    """The state of a draft before any action: every finding and the impression pending.

    Raises:
        InvalidActionError: a finding uses an id starting with ``@`` (reserved for the impression).
    """
    reserved = [f.id for f in draft.findings if f.id.startswith("@")]
    if reserved:
        raise InvalidActionError(f"draft {draft_id!r} uses reserved finding id(s) {reserved} "
                                 f"(ids starting with '@' are reserved, e.g. {IMPRESSION_ID!r})")
    findings = tuple(FindingState(finding=f, original=f) for f in draft.findings)
    return ReviewState(case_id=draft.case_id, draft_id=draft_id, kind=kind, findings=findings,
                       impression=draft.impression, impression_original=draft.impression)


def location_words(text: str) -> frozenset[str]:
    """The laterality and location words of a text (left, upper, lobe, hilar, 7th, T6…), lower-cased."""
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    return frozenset(t for t in tokens if t in _LOCATION_WORDS or _LEVEL.match(t))


def default_grounding(reason: str | None, before_text: str, after_text: str) -> str:
    """The grounding choice proposed for an edit when the reviewer makes none.

    ``drop`` when the reason says the location was wrong (``wrong_location``, ``grounding_error``) or
    the edit changes the laterality/location words (see :func:`location_words`); ``keep`` otherwise.
    """
    if reason in _REGROUND_REASONS or location_words(before_text) != location_words(after_text):
        return "drop"
    return "keep"


def regrounded(phrases: Iterable[Phrase], text: str, choice: str) -> tuple[Phrase, ...]:
    """The phrases of a finding after its text became ``text``, by the reviewer's grounding choice.

    ``keep``: phrases still in the text keep their grounding with recomputed spans; the groundings of
    phrases whose words changed are not lost but attached to one phrase spanning the whole new text
    (their boxes together, the first mask). ``drop`` and ``reground``: no phrase, no grounding (for
    ``reground`` the reviewer draws the new box next, with ``move_box``).
    """
    if choice in ("drop", "reground"):
        return ()
    kept: list[Phrase] = []
    lost: list[Grounding] = []
    for phrase in phrases:
        start = text.find(phrase.text)
        if start >= 0:
            kept.append(dataclasses.replace(phrase, span=(start, start + len(phrase.text))))
        elif phrase.grounding is not None and not phrase.grounding.is_empty:
            lost.append(phrase.grounding)
    if lost:
        merged = Grounding(boxes=tuple(b for g in lost for b in g.boxes),
                           mask_ref=next((g.mask_ref for g in lost if g.mask_ref), None),
                           attention_ref=next((g.attention_ref for g in lost if g.attention_ref), None),
                           source=lost[0].source)
        kept.append(Phrase(text=text, span=(0, len(text)), grounding=merged))
    return tuple(kept)


def propose_impression(state: ReviewState) -> str:
    """An impression built from the reviewed findings: rejected ones out, edited text in.

    The findings that are not normal statements ("no …", "… clear", "normal …") in report order; when
    none is left, "No acute cardiopulmonary abnormality." (CXR) / "No acute abnormality." (CT). It is
    a proposal: the reviewer accepts or edits it.
    """
    kept = [s.finding for s in state.findings if s.status != "rejected"]
    order = {r: i for i, r in enumerate(regions_for(state.kind))}
    ranked = sorted(kept, key=lambda f: order.get(f.region, len(order)))
    positives = [f.text.strip() for f in ranked if f.text.strip() and not _NORMAL.search(f.text)]
    return " ".join(positives) or _NO_FINDING_IMPRESSION.get(state.kind, "No acute abnormality.")


def _replace_finding(state: ReviewState, new: FindingState) -> ReviewState:
    fid = new.finding.id
    findings = tuple(new if s.finding.id == fid else s for s in state.findings)
    return dataclasses.replace(state, findings=findings)


def _bump(old: FindingState, action: ReviewAction, **changes: object) -> FindingState:
    reason = action.reason if action.reason is not None else old.reason
    significant = action.clinically_significant or old.clinically_significant
    return dataclasses.replace(old, version=old.version + 1, reason=reason,
                               clinically_significant=significant, **changes)  # type: ignore[arg-type]


def _accept(state: ReviewState, a: ReviewAction) -> ReviewState:
    old = state.state_of(a.finding_id or "")
    status = "added" if old.status == "added" else "accepted" if old.status != "edited" else "edited"
    return _replace_finding(state, _bump(old, a, status=status))


def _edit(state: ReviewState, a: ReviewAction) -> ReviewState:
    old = state.state_of(a.finding_id or "")
    text = a.after_text or ""
    choice = a.grounding or default_grounding(a.reason, old.finding.text, text)
    phrases = regrounded(old.finding.phrases, text, choice)
    finding = dataclasses.replace(old.finding, text=text, phrases=phrases)
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
    if not state.impression_decided:
        raise InvalidActionError(f"cannot sign case {state.case_id!r}: the impression is "
                                 f"{state.impression_status}; accept or edit it first")
    return dataclasses.replace(state, signed_by=a.reviewer, signed_at=a.acted_at)


def _impression(state: ReviewState, a: ReviewAction) -> ReviewState:
    """Accept, edit or (``regenerate``) propose the impression."""
    version = state.impression_version + 1
    if a.kind == "accept":
        status = "edited" if state.impression_status == "edited" else "accepted"
        return dataclasses.replace(state, impression_status=status,  # type: ignore[arg-type]
                                   impression_version=version)
    if a.kind == "edit":
        return dataclasses.replace(state, impression=a.after_text, impression_status="edited",
                                   impression_version=version)
    if a.kind == "regenerate":
        if not (a.after_text or "").strip():
            raise InvalidActionError("an impression proposal needs its text (after_text)")
        return dataclasses.replace(state, impression=a.after_text, impression_status="proposed",
                                   impression_version=version)
    raise InvalidActionError(f"the impression can be accepted, edited or regenerated, not {a.kind!r}-ed")


def _impression_reopened(state: ReviewState) -> ReviewState:
    """A decided impression goes back to pending when the findings it summarises change."""
    if state.impression_decided:
        return dataclasses.replace(state, impression_status="pending")
    return state


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
        if action.finding_id == IMPRESSION_ID:
            new = _impression(state, action)
        elif action.kind == "regenerate":
            new = _regenerate(state, action, drafts or {})
        else:
            new = _HANDLERS[action.kind](state, action)
    except KeyError as exc:
        raise InvalidActionError(str(exc).strip("'\"")) from None
    if action.kind in _CONTENT_KINDS and action.finding_id != IMPRESSION_ID:
        new = _impression_reopened(new)
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

    Finding actions compare ``base_version`` with the finding's version (impression ``accept``/``edit``
    with the impression's); ``sign`` and ``regenerate`` (of a section or of the impression) compare it
    with the case's action count; ``add`` is never stale.

    Raises:
        StaleVersionError: naming who must reload what.
    """
    if action.kind == "add":
        return
    if action.kind in ("sign", "regenerate"):
        current, what = state.version, f"case {state.case_id!r}"
    elif action.finding_id == IMPRESSION_ID:
        current, what = state.impression_version, f"the impression of case {state.case_id!r}"
    else:
        current, what = state.state_of(action.finding_id or "").version, f"finding {action.finding_id!r}"
    if action.base_version != current:
        last = state.actions[-1].reviewer if state.actions else "someone"
        raise StaleVersionError(
            f"{what} changed since you opened it (your version {action.base_version}, now {current}, "
            f"last change by {last}); reload to see it before deciding")
