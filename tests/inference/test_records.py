"""Draft records: JSON round trip and validation."""

from __future__ import annotations

import numpy as np
import pytest

from inference.records import (
    CT_REGIONS,
    Draft,
    Finding,
    Grounding,
    Phrase,
    Provenance,
    Section,
    draft_from_json,
    regions_for,
    to_json,
)


def _draft() -> Draft:
    g = Grounding(boxes=((0.1, 0.2, 0.3, 0.4),), mask_ref="sha256:abc", source="segmenter")
    f = Finding(id="f1", region="lungs", text="A 6 mm nodule in the left upper lobe.",
                phrases=(Phrase("6 mm nodule", (2, 13), g),), flags=("ungrounded",))
    return Draft(case_id="case-1", sections=(Section("lungs", (f,)),), impression="Nodule.",
                 provenance=Provenance(generator="builtin", model_id="built-in", prompts=("p",),
                                       generation_params={"max_new_tokens": 5}, input_sha256s=("aa",)),
                 latency_s={"generate": 0.5}, artefacts={"sha256:abc": np.zeros((2, 2))})


def test_json_round_trip_is_lossless() -> None:
    draft = _draft()
    back = draft_from_json(to_json(draft))
    assert back == draft
    assert back.artefacts == {}
    assert to_json(back) == to_json(draft)


def test_span_points_at_phrase() -> None:
    f = _draft().findings[0]
    start, end = f.phrases[0].span
    assert f.text[start:end] == f.phrases[0].text


@pytest.mark.parametrize("box", [(0.1, 0.2, 1.3, 0.4), (0.5, 0.2, 0.3, 0.4), (0.1, 0.2, 0.3)])
def test_bad_boxes_are_refused(box: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="box"):
        Grounding(boxes=(box,))


def test_region_orders() -> None:
    assert regions_for("ct") == (*CT_REGIONS, "other") and len(CT_REGIONS) == 10  # other: issue 14
    assert regions_for("cxr")[0] == "lungs"
    with pytest.raises(ValueError, match="unknown study kind"):
        regions_for("mr")


def test_finding_lookup_names_case() -> None:
    with pytest.raises(KeyError, match="case-1"):
        _draft().finding("nope")
