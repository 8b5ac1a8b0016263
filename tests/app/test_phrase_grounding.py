"""Phrase-level grounding: choosing a phrase jumps to its slice, and a drawn box goes to that phrase."""

from __future__ import annotations

import pytest

from app import handlers as h
from app.callbacks import viewer
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section

TOP = (0.60, 0.30, 0.75, 0.70, 0.40, 0.85)  # z centre 0.80 → slice round(0.80·64 − 0.5) = 51
LOW = (0.20, 0.50, 0.20, 0.30, 0.60, 0.30)  # z centre 0.25 → slice round(0.25·64 − 0.5) = 16


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


def test_select_phrase_jumps_and_the_drawn_box_goes_to_that_phrase(two_phrases) -> None:
    params = viewer.ViewParams(plane="axial", index=0, preset="lung")
    out = h.select_finding(two_phrases, h.Session("ct1"), params, "g1")
    sess, params = out[0], out[1]
    assert params.index == 51  # the finding's first boxed phrase
    assert out[14]["choices"] == [("“left upper lobe” · box", "0"), ("“right lower lobe” · box", "1")]
    out = h.select_phrase(two_phrases, sess, params, "1")
    params = out[1]
    assert params.index == 16  # the chosen phrase's box
    out = h.plot_click(two_phrases, sess, params, "40,20,1", "1", None)
    out = h.plot_click(two_phrases, out[0], out[1], "120,100,2", "1", None)
    state = two_phrases.repo.review_state("ct1")
    moved = [a for a in state.actions if a.kind == "move_box"]
    assert len(moved) == 1 and moved[0].phrase_index == 1 and moved[0].before_grounding.boxes == (LOW,)
    phrases = state.state_of("g1").finding.phrases
    assert phrases[0].grounding.boxes == (TOP,)  # untouched
    # 160-pixel grid: x 40..120 → 0.25..0.75, y 20..100 → 0.125..0.625; slab of slice 16: 16/64..17/64
    assert phrases[1].grounding.boxes[0] == pytest.approx((0.25, 0.125, 0.25, 0.75, 0.625, 17 / 64), abs=1e-3)
    assert phrases[1].grounding.source == "reviewer"


def test_select_phrase_refuses_an_unknown_phrase(two_phrases) -> None:
    import gradio as gr

    sess = h.Session("ct1", "g1")
    with pytest.raises(gr.Error, match="no phrase 5"):
        h.select_phrase(two_phrases, sess, viewer.ViewParams(), "5")
