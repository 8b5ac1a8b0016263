"""Deriving the review state from draft + actions (pure)."""

from __future__ import annotations

import pytest

from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
from storage.records import IMPRESSION_ID, ReviewAction
from storage.review import InvalidActionError, StaleVersionError, apply_actions, check_version, initial_state


def _draft() -> Draft:
    f1 = Finding("f1", "lungs", "A 6 mm nodule in the left upper lobe.",
                 (Phrase("6 mm nodule", (2, 13), Grounding(boxes=((0.6, 0.2, 0.7, 0.3),))),))
    f2 = Finding("f2", "pleura", "Small right pleural effusion.")
    f3 = Finding("f3", "heart", "Heart size is normal.")
    return Draft("c1", (Section("lungs", (f1,)), Section("pleura", (f2,)), Section("heart", (f3,))),
                 "Nodule.", Provenance("builtin", "built-in"))


def _a(kind: str, **kw: object) -> ReviewAction:
    return ReviewAction(kind=kind, case_id="c1", draft_id="d1", reviewer="ana", **kw)  # type: ignore[arg-type]


def test_actions_derive_state_without_touching_draft() -> None:
    draft = _draft()
    box = Grounding(boxes=((0.5, 0.1, 0.6, 0.2),), source="reviewer")
    actions = [
        _a("edit", finding_id="f1", before_text=draft.findings[0].text,
           after_text="A 6 mm nodule in the left lower lobe.", reason="wrong_location"),
        _a("move_box", finding_id="f1", phrase_index=0, after_grounding=box, base_version=1),
        _a("reject", finding_id="f2", reason="false_finding", clinically_significant=True),
        _a("accept", finding_id="f3"),
        _a("add", finding_id="r1", region="bones", after_text="Old left rib fracture.",
           reason="missed_finding"),
        _a("accept", finding_id=IMPRESSION_ID),
        _a("sign"),
    ]
    state = apply_actions(draft, "d1", "cxr", actions)
    assert [s.status for s in state.findings] == ["edited", "rejected", "accepted", "added"]
    f1 = state.state_of("f1")
    assert f1.version == 2 and f1.original == draft.findings[0]
    # wrong_location dropped the model's box (default rule); the reviewer's box grounds the whole finding
    assert f1.finding.phrases[0].span == (0, 37) and f1.finding.phrases[0].grounding == box
    assert state.actions[0].grounding is None  # a row from before revision 0005: the rule is replayed
    assert state.signed and state.signed_by == "ana"
    assert "LUNGS: A 6 mm nodule in the left lower lobe." in state.current_text()
    assert "effusion" not in state.current_text() and "BONES: Old left rib fracture." in state.current_text()
    assert draft.findings[0].text.endswith("upper lobe.")


def test_sign_refused_while_pending() -> None:
    with pytest.raises(InvalidActionError, match="1 finding"):
        apply_actions(_draft(), "d1", "cxr", [_a("accept", finding_id="f1"), _a("accept", finding_id="f2"),
                                             _a("sign")])


def test_unknown_finding_and_signed_case_are_refused() -> None:
    with pytest.raises(InvalidActionError, match="nope"):
        apply_actions(_draft(), "d1", "cxr", [_a("accept", finding_id="nope")])
    done = [_a("accept", finding_id=f) for f in ("f1", "f2", "f3", IMPRESSION_ID)] + [_a("sign")]
    with pytest.raises(InvalidActionError, match="signed"):
        apply_actions(_draft(), "d1", "cxr", [*done, _a("accept", finding_id="f1")])


def test_sign_refused_while_the_impression_is_undecided() -> None:
    decided = [_a("accept", finding_id=f) for f in ("f1", "f2", "f3")]
    with pytest.raises(InvalidActionError, match="impression is pending"):
        apply_actions(_draft(), "d1", "cxr", [*decided, _a("sign")])
    proposed = _a("regenerate", finding_id=IMPRESSION_ID, after_text="Nodule.")
    with pytest.raises(InvalidActionError, match="impression is proposed"):
        apply_actions(_draft(), "d1", "cxr", [*decided, proposed, _a("sign")])
    state = apply_actions(_draft(), "d1", "cxr", [*decided, proposed, _a("accept", finding_id=IMPRESSION_ID),
                                                  _a("sign")])
    assert state.signed and state.impression_status == "accepted"


def test_impression_actions_are_versioned_and_only_accept_edit_regenerate() -> None:
    state = apply_actions(_draft(), "d1", "cxr", [_a("accept", finding_id=IMPRESSION_ID)])
    check_version(state, _a("edit", finding_id=IMPRESSION_ID, after_text="X.", reason="style",
                            base_version=1))
    with pytest.raises(StaleVersionError, match="impression"):
        check_version(state, _a("edit", finding_id=IMPRESSION_ID, after_text="X.", reason="style"))
    with pytest.raises(ValueError, match="not 'reject'-ed"):
        _a("reject", finding_id=IMPRESSION_ID, reason="style")


def test_a_draft_using_the_reserved_id_is_refused() -> None:
    bad = Draft("c1", (Section("lungs", (Finding(IMPRESSION_ID, "lungs", "x"),)),), None,
                Provenance("builtin", "built-in"))
    with pytest.raises(InvalidActionError, match="reserved"):
        initial_state(bad, "d1", "cxr")


def test_stale_version_is_caught() -> None:
    state = apply_actions(_draft(), "d1", "cxr", [_a("accept", finding_id="f1")])
    check_version(state, _a("reject", finding_id="f1", reason="style", base_version=1))
    with pytest.raises(StaleVersionError, match="your version 0, now 1"):
        check_version(state, _a("reject", finding_id="f1", reason="style", base_version=0))


def test_regenerate_replaces_undecided_findings_of_the_section() -> None:
    new = Draft("c1", (Section("pleura", (Finding("g1", "pleura", "No pleural effusion."),)),), None,
                Provenance("builtin", "built-in"))
    state = apply_actions(_draft(), "d1", "cxr",
                          [_a("regenerate", region="pleura", new_draft_id="d2")], drafts={"d2": new})
    assert [s.finding.id for s in state.findings] == ["f1", "f3", "g1"]


@pytest.mark.parametrize("kw,match", [
    ({"kind": "edit", "finding_id": "f1", "after_text": "x"}, "reason"),
    ({"kind": "reject", "finding_id": "f1", "reason": "bogus"}, "unknown reason"),
    ({"kind": "accept"}, "finding_id"),
    ({"kind": "dance", "finding_id": "f1"}, "unknown action"),
])
def test_action_validation(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ReviewAction(case_id="c1", draft_id="d1", reviewer="ana", **kw)  # type: ignore[arg-type]


def test_initial_state_all_pending() -> None:
    state = initial_state(_draft(), "d1", "cxr")
    assert not state.all_decided and state.version == 0


def test_regenerate_refuses_ids_that_clash_with_kept_findings() -> None:
    new = Draft("c1", (Section("pleura", (Finding("f1", "pleura", "No pleural effusion."),)),), None,
                Provenance("builtin", "built-in"))
    with pytest.raises(InvalidActionError, match="reuses finding ids"):
        apply_actions(_draft(), "d1", "cxr", [_a("regenerate", region="pleura", new_draft_id="d2")],
                      drafts={"d2": new})
