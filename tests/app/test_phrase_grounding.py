"""Phrase-level grounding: choosing a phrase of the selected finding sends that phrase to the viewer
(``viewer_state(view={"phrase": i})``), which jumps to it and draws the next box for it."""

from __future__ import annotations

import pytest

from app.callbacks import viewer
from app.handlers import Session
from app.handlers import review as rv
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section

TOP = (0.60, 0.30, 0.75, 0.70, 0.40, 0.85)
LOW = (0.20, 0.50, 0.20, 0.30, 0.60, 0.30)


@pytest.fixture()
def two_phrases(services):  # type: ignore[no-untyped-def]
    """``ct1`` with one finding whose two phrases are boxed on different slices."""
    text = "Nodule in the left upper lobe and a second nodule in the right lower lobe."
    finding = Finding(
        "g1",
        "lungs",
        text,
        (
            Phrase("left upper lobe", (14, 29), Grounding(boxes=(TOP,))),
            Phrase("right lower lobe", (58, 74), Grounding(boxes=(LOW,))),
        ),
    )
    prov = Provenance(generator="builtin", model_id="built-in", created_at="2026-11-23T12:00:00+00:00")
    services.repo.save_draft(Draft("ct1", (Section("lungs", (finding,)),), "", prov))
    return services


def test_phrase_choices_label_each_grounding(two_phrases) -> None:
    fs = two_phrases.repo.review_state("ct1").state_of("g1")
    assert viewer.phrase_choices(fs) == [("“left upper lobe” · box", "0"), ("“right lower lobe” · box", "1")]
    assert viewer.phrase_choices(None) == []


def test_selecting_a_finding_lists_its_phrases_and_a_phrase_goes_to_the_viewer(
    two_phrases, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr(
        "app.viewer_bridge.viewer_state", lambda s, c, f, view=None: calls.append(view) or "x"
    )
    out = rv.select_finding(two_phrases, Session("ct1"), "g1")
    assert out.phrase["choices"] == [("“left upper lobe” · box", "0"), ("“right lower lobe” · box", "1")]
    out = rv.select_phrase(two_phrases, out.sess, "1")
    assert calls[-1] == {"phrase": 1}
    assert set(out.updates()) == {"viewer_state"}  # nothing else changes
    refused = rv.select_phrase(two_phrases, Session("ct1", "g1"), "5")
    assert "no phrase 5" in refused.message and set(refused.updates()) == {"message"}
