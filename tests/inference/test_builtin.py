"""The builtin generator on the phantoms: golden drafts, grounding to the measured masks, determinism.

``python -m pytest --update-golden tests/inference/test_builtin.py`` rewrites the golden files after an
intended change (refused under CI; review the diff: every number in them is a measurement).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.records import CT_REGIONS, CXR_REGIONS, draft_from_json, to_dict, to_json
from tests.golden import check_golden
from viewer.records import Image, Study

GOLDEN = Path(__file__).parent / "golden"


def _ct_study(phantom) -> Study:  # type: ignore[no-untyped-def]
    sz, sy, sx = phantom.spacing_mm
    image = Image(pixels=phantom.pixels, spacing_mm=phantom.spacing_mm, affine=np.diag([sx, sy, sz, 1.0]),
                  modality="CT", photometric="MONOCHROME2", default_window=(40.0, 400.0),
                  source="phantom-ct", sha256="c" * 64, view="AXIAL")
    return Study("phantom-ct", "ct", (image,))


def _cxr_study(phantom) -> Study:  # type: ignore[no-untyped-def]
    image = Image(pixels=phantom.pixels, spacing_mm=phantom.spacing_mm, affine=np.eye(4), modality="DX",
                  photometric="MONOCHROME2", default_window=None, source="phantom-cxr", sha256="d" * 64,
                  view="PA")
    return Study("phantom-cxr", "cxr", (image,))


@pytest.fixture(scope="module")
def ct_draft(ct_phantom):  # type: ignore[no-untyped-def]
    from inference.draft import draft_study

    return draft_study(_ct_study(ct_phantom))


@pytest.fixture(scope="module")
def cxr_draft(cxr_phantom):  # type: ignore[no-untyped-def]
    from inference.draft import draft_study

    return draft_study(_cxr_study(cxr_phantom))


def _normalised(draft) -> dict:  # type: ignore[no-untyped-def]
    data = to_dict(draft)
    data["latency_s"] = {}
    data["provenance"]["created_at"] = ""
    data["provenance"]["package_version"] = ""
    return data


def _check_golden(name: str, draft) -> None:  # type: ignore[no-untyped-def]
    json_path, text_path = GOLDEN / f"{name}.json", GOLDEN / f"{name}.txt"
    check_golden(text_path, draft.text + "\n")
    check_golden(json_path, json.dumps(_normalised(draft), indent=1, ensure_ascii=False) + "\n")


def test_ct_golden(ct_draft) -> None:  # type: ignore[no-untyped-def]
    _check_golden("builtin_ct", ct_draft)


def test_cxr_golden(cxr_draft) -> None:  # type: ignore[no-untyped-def]
    _check_golden("builtin_cxr", cxr_draft)


def test_ct_reports_the_phantom_findings(ct_draft) -> None:  # type: ignore[no-untyped-def]
    text = ct_draft.text
    assert "A 12 mm solid nodule in the left upper lobe" in text
    assert "Right pleural effusion, approximately" in text and "Left pleural effusion" not in text
    assert "Heart size is normal" in text
    assert ct_draft.impression.startswith("12 mm solid nodule in the left upper lobe.")
    assert [s.region for s in ct_draft.sections] == [*CT_REGIONS, "other"]  # other: nothing outside regions
    assert all(s.findings for s in ct_draft.sections if s.region != "other")


def test_every_ct_region_has_a_phrase_grounded_to_its_mask(ct_draft, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    for section in (s for s in ct_draft.sections if s.region != "other"):  # "other" has no mask
        grounded = [p for f in section.findings for p in f.phrases if p.grounding]
        assert grounded, section.region
        for phrase in grounded:
            g = phrase.grounding
            assert g.source == "segmenter" and g.mask_ref in ct_draft.artefacts
            mask = ct_draft.artefacts[g.mask_ref]
            assert mask.shape == ct_phantom.pixels.shape and mask.any()
            (box,) = g.boxes
            assert len(box) == 6


def test_nodule_and_effusion_phrases_point_at_the_truth(ct_draft, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    phrases = {p.text: p for f in ct_draft.findings for p in f.phrases}
    nodule = ct_draft.artefacts[phrases["12 mm solid nodule"].grounding.mask_ref]
    truth = ct_phantom.labels["nodule"]
    assert 2 * (nodule & truth).sum() / (nodule.sum() + truth.sum()) > 0.8
    assert nodule[ct_phantom.nodule_index]
    effusion = ct_draft.artefacts[phrases["Right pleural effusion"].grounding.mask_ref]
    assert (effusion & ct_phantom.labels["effusion"]).sum() > 0.7 * effusion.sum()
    x0, y0, z0, x1, y1, z1 = phrases["12 mm solid nodule"].grounding.boxes[0]
    k, i, j = ct_phantom.nodule_index
    nz, ny, nx = ct_phantom.pixels.shape
    assert x0 <= j / nx <= x1 and y0 <= i / ny <= y1 and z0 <= k / nz <= z1


def test_provenance_and_latency(ct_draft) -> None:  # type: ignore[no-untyped-def]
    prov = ct_draft.provenance
    assert (prov.generator, prov.model_id, prov.label) == ("builtin", "built-in", "built-in, no AI model")
    assert prov.quantization == "none" and prov.seed is None and prov.prompts == ()
    assert prov.segmenter == "threshold-ct" and prov.input_sha256s == ("c" * 64,)
    assert prov.generation_params["fluid_hu"] == [-10.0, 30.0]
    assert prov.created_at.endswith("+00:00") and prov.package_version
    assert set(ct_draft.latency_s) >= {"segment", "generate", "flags", "total"}


def test_cxr_reports_nodule_and_normal_heart(cxr_draft) -> None:  # type: ignore[no-untyped-def]
    assert [s.region for s in cxr_draft.sections] == list(CXR_REGIONS)
    assert "nodular opacity in the left upper zone" in cxr_draft.text
    assert "Heart size is normal" in cxr_draft.text
    heart = next(f for f in cxr_draft.findings if f.region == "heart")
    x0, _, x1, _ = heart.phrases[0].grounding.boxes[0]
    assert (x0 + x1) / 2 > 0.5  # patient left = image right on a PA film
    assert not any(f.flags for f in cxr_draft.findings)


def test_json_round_trip_and_determinism(cxr_draft, cxr_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.generators.builtin import BuiltinGenerator

    assert draft_from_json(to_json(cxr_draft)) == cxr_draft
    again = BuiltinGenerator().generate(_cxr_study(cxr_phantom), {})
    assert again.text == cxr_draft.text
    assert set(again.artefacts) == set(cxr_draft.artefacts)


def test_builtin_refuses_a_model() -> None:
    from inference.generators.builtin import BuiltinGenerator

    with pytest.raises(ValueError, match="no model"):
        BuiltinGenerator(model="some/model")


def test_low_vertebral_density_is_reported(ct_phantom) -> None:  # type: ignore[no-untyped-def]
    """Spine marrow lowered from 250 to 60 HU: the cortical ring still makes it bone, the median drops."""
    import dataclasses

    from inference.draft import draft_study

    study = _ct_study(ct_phantom)
    pixels = ct_phantom.pixels.copy()
    marrow = (pixels > 200) & (pixels < 300) & ct_phantom.labels["bones"]
    pixels[marrow] -= 190.0
    image = dataclasses.replace(study.primary, pixels=pixels)
    draft = draft_study(dataclasses.replace(study, images=(image,)))
    assert "Low trabecular attenuation of the vertebral bodies (median 60 HU)." in draft.impression
