"""What the workspace still computes about the image: slice counts and where a finding's grounding is."""

from __future__ import annotations

import pytest

from app.callbacks import viewer


def test_slice_counts(services) -> None:
    ct = services.study("ct1").primary  # 64 × 160 × 160 SPL
    assert [viewer.slice_count(ct, p) for p in ("axial", "coronal", "sagittal")] == [64, 160, 160]
    assert viewer.slice_count(services.study("cxr1").primary, "image") == 1


def test_finding_centre_uses_box_then_mask_centroid(drafted) -> None:
    state = drafted.repo.review_state("ct1")
    ct = drafted.study("ct1").primary
    # f1 box (x 0.70–0.80, y 0.40–0.50, z 0.75–0.85): centre (0.75, 0.45, 0.80)
    assert viewer.finding_centre(drafted, ct, state.state_of("f1")) == pytest.approx((0.75, 0.45, 0.80))
    # f2 mask: slices 10..49, rows 40..119, cols 20..69 → centroid (44.5, 79.5, 29.5) / (159, 159, 63)
    centre = viewer.finding_centre(drafted, ct, state.state_of("f2"))
    assert centre == pytest.approx((44.5 / 159, 79.5 / 159, 29.5 / 63))
    assert viewer.finding_centre(drafted, ct, state.state_of("f4")) is None  # ungrounded
