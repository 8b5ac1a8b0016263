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
