"""Mask replacement and section regeneration with the reviewer's corrected mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.callbacks import grounding, review
from app.services import ServiceError


def test_replace_mask_from_upload_then_regenerate_section(drafted, tmp_path: Path) -> None:
    import nibabel as nib

    shape = drafted.study("ct1").primary.shape  # (64, 160, 160) SPL
    with pytest.raises(ServiceError, match="has shape"):
        bad = tmp_path / "bad.nii.gz"
        nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.eye(4)), bad)
        grounding.uploaded_mask(drafted, "ct1", str(bad))
    mask = np.zeros(shape, dtype=bool)
    mask[20:30, 50:90, 100:140] = True
    state = grounding.replace_mask(drafted, "alice", "ct1", "f2", mask)
    g = state.state_of("f2").finding.phrases[0].grounding
    assert g.source == "reviewer" and np.array_equal(drafted.repo.load_artefact(g.mask_ref), mask)
    assert state.actions[-1].kind == "edit_mask" and state.actions[-1].reason == "grounding_error"

    review.decide(drafted, "alice", "ct1", "f1", "accept", review.Decision())
    state = grounding.regenerate_section(drafted, "alice", "ct1", "lungs")
    assert state.actions[-1].kind == "regenerate" and state.actions[-1].region == "lungs"
    lungs = [fs for fs in state.findings if fs.finding.region == "lungs"]
    assert any(fs.finding.id == "f1" and fs.status == "accepted" for fs in lungs)  # decided: kept
    assert any(fs.finding.id == "f2" for fs in lungs)  # re-grounded by the reviewer: kept
    # f2's mask was a finding mask, not the segmenter's lung mask: regeneration did not take it as one
    assert state.actions[-1].comment == "with the segmenter's masks"
    fresh = [fs for fs in lungs if fs.finding.id.endswith("~r2")]
    assert fresh and all(fs.status == "pending" for fs in fresh)
    ids = [fs.finding.id for fs in state.findings]
    assert len(ids) == len(set(ids))


def _draft_on_segmenter_lungs(services):  # type: ignore[no-untyped-def]
    """The hand-made CT draft again, its lung statement grounded to the default segmenter's own lung mask
    (saved as the newest draft, which the review follows while nothing is recorded)."""
    from inference.artefacts import content_ref
    from inference.records import Finding, Grounding, Phrase, Section
    from inference.registry import get_segmenter

    base = get_segmenter("threshold-ct").segment(services.study("ct1").primary)
    lungs = np.ascontiguousarray(np.asarray(base.masks["lungs"].mask, dtype=bool))
    draft = services.repo.latest_draft("ct1")[1]
    grounded = Grounding(mask_ref=content_ref(lungs), source="segmenter")
    statement = Finding("f2", "lungs", "The lungs are otherwise clear.", (Phrase("lungs", (4, 9), grounded),))
    sections = tuple(Section(s.region, tuple(statement if f.id == "f2" else f for f in s.findings))
                     for s in draft.sections)
    import dataclasses

    services.repo.save_draft(dataclasses.replace(draft, sections=sections,
                                                 artefacts={**draft.artefacts, content_ref(lungs): lungs}))
    return lungs


def test_regenerate_uses_only_the_corrected_region_mask_and_keeps_touched_findings(drafted) -> None:
    services = drafted
    lungs = _draft_on_segmenter_lungs(services)
    # a moved nodule box and a relinked effusion must not become region masks nor disappear
    review.move_box(services, "alice", "ct1", "f1", (0.1, 0.1, 0.1, 0.2, 0.2, 0.2))
    review.relink(services, "alice", "ct1", "f3", "lungs")
    corrected = lungs.copy()
    corrected[: lungs.shape[0] // 2] = False  # the reviewer trims the lower half of the lung mask
    grounding.replace_mask(services, "alice", "ct1", "f2", corrected)
    state = grounding.regenerate_section(services, "alice", "ct1", "lungs")
    assert state.actions[-1].comment == "with the corrected lungs mask"
    assert {"f1", "f2", "f3"} <= {fs.finding.id for fs in state.findings}  # touched: kept
    regenerated = services.repo.get_draft(state.actions[-1].new_draft_id)
    assert not grounding.unusable_measurements(regenerated, "lungs")


def test_unusable_measurements_are_named() -> None:
    from inference.records import Draft, Finding, Provenance, Section

    draft = Draft("c", (Section("lungs", (
        Finding("a", "lungs", "Right lung volume 0 mL, mean attenuation nan HU."),
        Finding("b", "lungs", "Left lung volume 2400 mL, mean attenuation −850 HU."))),), None,
        Provenance("builtin", "built-in"))
    bad = ["Right lung volume 0 mL, mean attenuation nan HU."]
    assert grounding.unusable_measurements(draft, "lungs") == bad


def test_builtin_says_nothing_about_an_empty_lung_mask(services) -> None:
    """The regenerate bug: a lesion-sized 'lung' mask left the right lung part empty, and the built-in
    generator wrote "Right lung volume 0 mL, mean attenuation nan HU … No solid lung nodule"."""
    from inference.generators.builtin import BuiltinGenerator
    from inference.protocols import RegionMask

    study = services.study("ct1")
    shape = study.primary.shape
    left = np.zeros(shape, dtype=bool)
    left[20:30, 50:90, 100:140] = True
    empty = np.zeros(shape, dtype=bool)
    masks = {"lungs": RegionMask("lungs", left, parts={"right": empty, "left": left}),
             "thyroid": RegionMask("thyroid", empty)}
    draft = BuiltinGenerator().generate(study, masks)
    texts = [f.text for f in draft.findings]
    assert not any("nan" in t or " 0 mL" in t for t in texts), texts
    assert not any(t.startswith("No solid lung nodule") for t in texts)  # nothing was searched
