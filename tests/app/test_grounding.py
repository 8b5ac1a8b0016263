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
    assert all(fs.finding.id != "f2" for fs in lungs)  # pending: replaced by the new draft's
    fresh = [fs for fs in lungs if fs.finding.id.endswith("~r2")]
    assert fresh and all(fs.status == "pending" for fs in fresh)
    ids = [fs.finding.id for fs in state.findings]
    assert len(ids) == len(set(ids))
