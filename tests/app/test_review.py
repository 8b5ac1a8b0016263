"""Review callbacks over a real SQLite repository: every action is stored and re-derived."""

from __future__ import annotations

import pytest

from app.callbacks import render, review
from app.services import ServiceError

REASONED = review.Decision("wrong_severity", significant=True, comment="it is 14 mm")


def test_no_draft_means_no_state_and_a_clear_error(services) -> None:
    assert review.review_state(services, "ct1") is None
    with pytest.raises(ServiceError, match="no draft yet"):
        review.decide(services, "alice", "ct1", "f1", "accept", review.Decision())


def test_accept_edit_reject_are_committed_and_reloaded(drafted) -> None:
    review.decide(drafted, "alice", "ct1", "f1", "accept", review.Decision())
    review.decide(drafted, "alice", "ct1", "f2", "edit", REASONED, text="The lungs are clear otherwise.")
    state = review.decide(drafted, "alice", "ct1", "f3", "reject", review.Decision("false_finding"))
    # A fresh read from storage (what a page reload does) gives the same state.
    reread = drafted.repo.review_state("ct1")
    assert [f.status for f in reread.findings] == ["pending", "accepted", "edited", "rejected"]
    assert reread.state_of("f2").finding.text == "The lungs are clear otherwise."
    assert reread.state_of("f2").reason == "wrong_severity" and reread.state_of("f2").clinically_significant
    assert state.version == reread.version == 3
    edit = next(a for a in reread.actions if a.kind == "edit")
    assert edit.before_text == "The lungs are otherwise clear." and edit.comment == "it is 14 mm"
    assert edit.reviewer == "alice"


def test_reject_and_edit_need_a_reason_and_a_real_change(drafted) -> None:
    with pytest.raises(ServiceError, match="reason code"):
        review.decide(drafted, "alice", "ct1", "f3", "reject", review.Decision())
    with pytest.raises(ServiceError, match="unchanged"):
        review.decide(drafted, "alice", "ct1", "f2", "edit", REASONED, text="The lungs are otherwise clear.")
    with pytest.raises(ServiceError, match="select a finding"):
        review.decide(drafted, "alice", "ct1", "", "accept", review.Decision())
    assert drafted.repo.review_state("ct1").version == 0  # nothing was written


def test_stale_version_from_another_reviewer_is_refused(drafted) -> None:
    from storage.records import ReviewAction

    seen = drafted.repo.review_state("ct1")
    review.decide(drafted, "bob", "ct1", "f1", "accept", review.Decision())
    stale = ReviewAction(
        kind="reject",
        case_id="ct1",
        draft_id=seen.draft_id,
        reviewer="alice",
        finding_id="f1",
        reason="false_finding",
        base_version=0,
    )
    with pytest.raises(ServiceError, match="changed since you opened it"):
        review._commit(drafted, stale)


def test_add_missed_finding_defaults_reason_and_checks_region(drafted) -> None:
    state = review.add_finding(
        drafted, "alice", "ct1", "bones", "Old healed left rib fracture.", review.Decision()
    )
    added = state.findings[-1]
    assert (added.finding.region, added.status, added.reason) == ("bones", "added", "missed_finding")
    with pytest.raises(ServiceError, match="not a CT region"):
        review.add_finding(drafted, "alice", "ct1", "airway", "x", review.Decision())


def test_sign_requires_every_finding_decided_then_is_final(drafted) -> None:
    with pytest.raises(ServiceError, match="4 finding"):
        review.sign(drafted, "alice", "ct1")
    for fid in ("f1", "f2", "f4"):
        review.decide(drafted, "alice", "ct1", fid, "accept", review.Decision())
    review.decide(drafted, "alice", "ct1", "f3", "reject", review.Decision("false_finding"))
    with pytest.raises(ServiceError, match="impression is pending"):
        review.sign(drafted, "alice", "ct1")
    review.decide_impression(drafted, "alice", "ct1", "accept", review.Decision())
    state = review.sign(drafted, "alice", "ct1")
    assert state.signed and state.signed_by == "alice"
    assert drafted.repo.get_study("ct1").status == "signed"
    with pytest.raises(ServiceError, match="signed"):
        review.decide(drafted, "alice", "ct1", "f1", "accept", review.Decision())
    html = render.signed_html(drafted.repo.get_draft(state.draft_id), state)
    assert '<del class="rr-del">PLEURA: Small right pleural effusion.</del>' in html
    assert "Signed report" in html


def test_move_box_and_relink_are_grounding_actions(drafted) -> None:
    box = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    state = review.move_box(drafted, "alice", "ct1", "f1", box)
    phrase = state.state_of("f1").finding.phrases[0]
    assert phrase.grounding.boxes == (box,) and phrase.grounding.source == "reviewer"
    state = review.relink(drafted, "alice", "ct1", "f3", "lungs")
    assert state.state_of("f3").finding.region == "lungs"
    kinds = [(a.kind, a.reason) for a in drafted.repo.review_state("ct1").actions]
    assert kinds == [("move_box", "grounding_error"), ("relink_region", "wrong_location")]
    with pytest.raises(ServiceError, match="already in"):
        review.relink(drafted, "alice", "ct1", "f3", "lungs")


def test_neighbour_and_first_pending_navigation(drafted) -> None:
    state = drafted.repo.review_state("ct1")
    # report order: f4 (heart), f1, f2 (lungs), f3 (pleura)
    assert review.neighbour_finding(state, "f3", 1) == "f4"
    assert review.neighbour_finding(state, "f4", -1) == "f3"
    assert review.neighbour_finding(state, None, 1) == "f4"
    state = review.decide(drafted, "alice", "ct1", "f2", "accept", review.Decision())
    assert review.first_pending(state, "f1") == "f3"
    assert review.first_pending(state, "f3") == "f4"


def test_report_html_shows_sections_status_and_highlighted_flags(drafted) -> None:
    state = review.decide(drafted, "alice", "ct1", "f3", "reject", review.Decision("false_finding"))
    html = render.report_html(state, selected="f1")
    assert html.index(">heart<") < html.index(">lungs<") < html.index(">pleura<")  # DESIGN §4 order
    assert 'class="rr-finding rr-pending rr-selected" data-finding="f1"' in html
    assert "<s>Small right pleural effusion.</s>" in html
    assert "⚑ mentions a prior, none given" in html
    assert "1 of 4 findings decided" in html
    assert render.provenance_text(drafted.repo.get_draft(state.draft_id).provenance).startswith(
        "Draft by built-in, no AI model on cpu · segmenter threshold-ct"
    )


def test_diff_html_marks_word_changes() -> None:
    assert render.diff_html("a small effusion", "a large effusion") == (
        'a <del class="rr-del">small</del> <ins class="rr-ins">large</ins> effusion'
    )


# -- grounding after an edit: the reviewer's choice, recorded -------------------------------------------

NODULE_BOX = (0.70, 0.40, 0.75, 0.80, 0.50, 0.85)


@pytest.mark.parametrize(("reason", "before", "after", "expected"), [
    ("wrong_severity", "A 12 mm nodule in the left upper lobe.", "A 14 mm nodule in the left upper lobe.",
     "keep"),
    ("style", "Small right pleural effusion.", "Small pleural effusion on the right.", "keep"),
    ("wrong_location", "A 12 mm nodule.", "A 12 mm nodule, as before.", "drop"),
    ("grounding_error", "x", "y", "drop"),
    ("wrong_severity", "Nodule in the left upper zone.", "Nodule in the left lower zone.", "drop"),
    ("other", "Right pleural effusion.", "Left pleural effusion.", "drop"),
    ("style", "Fracture of the 7th rib.", "Fracture of the 8th rib.", "drop"),
    (None, "Mild cardiomegaly.", "Moderate cardiomegaly.", "keep"),
])
def test_default_grounding_rule(reason: str | None, before: str, after: str, expected: str) -> None:
    assert review.default_grounding(reason, before, after) == expected


def test_edit_keeps_the_box_on_request_even_when_the_phrase_words_change(drafted) -> None:
    # "12 mm nodule" (the boxed phrase) becomes "14 mm nodule": the box is not silently lost.
    state = review.decide(drafted, "alice", "ct1", "f1", "edit", REASONED,
                          text="A 14 mm nodule in the left upper lobe.", grounding="keep")
    phrases = state.state_of("f1").finding.phrases
    assert [(p.text, p.span, p.grounding.boxes) for p in phrases] == [
        ("A 14 mm nodule in the left upper lobe.", (0, 38), (NODULE_BOX,))]
    assert drafted.repo.review_state("ct1").actions[-1].grounding == "keep"


def test_edit_that_moves_the_finding_drops_the_stale_box_by_default(drafted) -> None:
    state = review.decide(drafted, "alice", "ct1", "f1", "edit", review.Decision("wrong_location"),
                          text="A 12 mm nodule in the left lower lobe.")
    assert state.state_of("f1").finding.phrases == ()
    assert drafted.repo.review_state("ct1").actions[-1].grounding == "drop"


def test_explicit_drop_wins_over_surviving_words(drafted) -> None:
    # Only severity words change (default: keep), but the reviewer said drop: no stale box is kept.
    state = review.decide(drafted, "alice", "ct1", "f3", "edit", review.Decision("wrong_severity"),
                          text="Moderate right pleural effusion.", grounding="drop")
    assert state.state_of("f3").finding.phrases == ()


def test_reground_drops_now_and_the_drawn_box_grounds_the_whole_finding(drafted) -> None:
    review.decide(drafted, "alice", "ct1", "f1", "edit", review.Decision("wrong_location"),
                  text="A 12 mm nodule in the right lower lobe.", grounding="reground")
    box = (0.1, 0.6, 0.2, 0.2, 0.7, 0.3)
    state = review.move_box(drafted, "alice", "ct1", "f1", box)
    phrases = state.state_of("f1").finding.phrases
    assert [(p.text, p.grounding.boxes, p.grounding.source) for p in phrases] == [
        ("A 12 mm nodule in the right lower lobe.", (box,), "reviewer")]
    assert [a.grounding for a in state.actions] == ["reground", None]


def test_grounding_choice_is_checked(drafted) -> None:
    with pytest.raises(ServiceError, match="must be one of keep, drop, reground"):
        review.decide(drafted, "alice", "ct1", "f1", "edit", REASONED, text="Other.", grounding="move")
    with pytest.raises(ServiceError, match="applies to an edit only"):
        review.decide(drafted, "alice", "ct1", "f1", "accept", review.Decision(), grounding="keep")
    assert drafted.repo.review_state("ct1").version == 0


# -- the impression: reviewable, and required before signing ------------------------------------------

def test_impression_accept_and_edit_are_stored_and_reloaded(drafted) -> None:
    state = drafted.repo.review_state("ct1")
    assert (state.impression, state.impression_status) == ("Left upper lobe nodule.", "pending")
    with pytest.raises(ServiceError, match="reason code"):
        review.decide_impression(drafted, "alice", "ct1", "edit", review.Decision(), text="No nodule.")
    with pytest.raises(ServiceError, match="unchanged"):
        review.decide_impression(drafted, "alice", "ct1", "edit", REASONED, text="Left upper lobe nodule.")
    review.decide_impression(drafted, "alice", "ct1", "edit", REASONED, text="Left lower lobe nodule.")
    reread = drafted.repo.review_state("ct1")
    assert (reread.impression, reread.impression_status, reread.impression_version) == (
        "Left lower lobe nodule.", "edited", 1)
    assert reread.impression_original == "Left upper lobe nodule."
    action = reread.actions[-1]
    assert (action.kind, action.finding_id, action.before_text) == ("edit", "@impression",
                                                                    "Left upper lobe nodule.")
    accepted = review.decide_impression(drafted, "alice", "ct1", "accept", review.Decision())
    assert accepted.impression_status == "edited"  # accepting one's own edit keeps it an edit


def test_regenerated_impression_is_a_proposal_from_the_reviewed_findings(drafted) -> None:
    review.decide(drafted, "alice", "ct1", "f3", "reject", review.Decision("false_finding"))
    review.decide(drafted, "alice", "ct1", "f1", "edit", review.Decision("wrong_location"),
                  text="A 12 mm nodule in the left lower lobe.")
    state = review.regenerate_impression(drafted, "alice", "ct1")
    # report order heart, lungs (f1 edited; f2 "otherwise clear" is a normal statement), pleura rejected
    assert state.impression == ("Heart size unchanged compared with prior. "
                                "A 12 mm nodule in the left lower lobe.")
    assert state.impression_status == "proposed" and not state.impression_decided
    review.decide(drafted, "alice", "ct1", "f2", "accept", review.Decision())
    review.decide(drafted, "alice", "ct1", "f4", "accept", review.Decision())
    with pytest.raises(ServiceError, match="impression is proposed"):
        review.sign(drafted, "alice", "ct1")
    review.decide_impression(drafted, "alice", "ct1", "accept", review.Decision())
    signed = review.sign(drafted, "alice", "ct1")
    assert "Right pleural effusion" not in signed.current_text()
    assert signed.current_text().endswith("IMPRESSION: Heart size unchanged compared with prior. "
                                          "A 12 mm nodule in the left lower lobe.")


def test_changing_a_finding_after_the_impression_was_decided_reopens_it(drafted) -> None:
    review.decide_impression(drafted, "alice", "ct1", "accept", review.Decision())
    state = review.decide(drafted, "alice", "ct1", "f2", "accept", review.Decision())
    assert state.impression_status == "accepted"  # accepting a finding changes no content
    state = review.decide(drafted, "alice", "ct1", "f1", "reject", review.Decision("false_finding"))
    assert state.impression_status == "pending" and state.impression == "Left upper lobe nodule."


def test_impression_of_a_normal_cxr_proposal() -> None:
    from inference.records import Finding
    from storage.records import FindingState, ReviewState

    state = ReviewState("c", "d", "cxr", (
        FindingState(Finding("a", "lungs", "The lungs are clear."), status="accepted"),
        FindingState(Finding("b", "pleura", "Right pleural effusion."), status="rejected"),
        FindingState(Finding("c", "heart", "No cardiomegaly."), status="accepted")))
    from storage.review import propose_impression

    assert propose_impression(state) == "No acute cardiopulmonary abnormality."
