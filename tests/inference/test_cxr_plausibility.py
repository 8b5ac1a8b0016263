"""inference.plausibility on hand-made masks: each check passes on a plausible pair and fails alone."""

from __future__ import annotations

import numpy as np
import pytest

from inference import plausibility as P


def _box(shape: tuple[int, int], r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    m[r0:r1, c0:c1] = True
    return m


SHAPE = (200, 200)


@pytest.fixture
def lungs() -> tuple[np.ndarray, np.ndarray]:
    """Two 100×40 lung fields side by side (each 10% of the image; ratio 1)."""
    return _box(SHAPE, 40, 140, 30, 70), _box(SHAPE, 40, 140, 130, 170)


def _failed(checks: list[P.Check]) -> list[str]:
    return [c.name for c in checks if not c.passed]


def test_plausible_lungs_pass(lungs) -> None:  # type: ignore[no-untyped-def]
    right, left = lungs
    assert _failed(P.lung_checks(right, left, _box(SHAPE, 10, 190, 10, 190))) == []
    assert P.first_failure(P.lung_checks(right, left)) is None


def test_a_missing_lung_is_named(lungs) -> None:  # type: ignore[no-untyped-def]
    right, _ = lungs
    checks = P.lung_checks(right, np.zeros(SHAPE, dtype=bool))
    assert _failed(checks) == ["both_lungs"] and P.first_failure(checks) == "no left lung field was found"


def test_the_issue_report_0_px_right_lung_fails(lungs) -> None:  # type: ignore[no-untyped-def]
    """The reported draft: right lung field 0 px, left 519738 px."""
    _, left = lungs
    failure = P.first_failure(P.lung_checks(np.zeros(SHAPE, dtype=bool), left))
    assert failure == "no right lung field was found"


def test_area_ratio_outside_half_to_double_fails(lungs) -> None:  # type: ignore[no-untyped-def]
    right, _ = lungs
    small_left = _box(SHAPE, 40, 140, 130, 149)  # 1900 px vs 4000: ratio 2.11 (also narrow but tall)
    failed = _failed(P.lung_checks(right, small_left))
    assert "lung_area_ratio" in failed


def test_a_tiny_lung_fails_its_size(lungs) -> None:  # type: ignore[no-untyped-def]
    right, _ = lungs
    tiny = _box(SHAPE, 60, 80, 140, 155)  # 300 px = 0.75% of the image
    assert "left_lung_size" in _failed(P.lung_checks(right, tiny))


def test_a_lung_at_the_image_edge_fails(lungs) -> None:  # type: ignore[no-untyped-def]
    right, left = lungs
    leaked = right | _box(SHAPE, 0, 40, 30, 70)  # runs up into the air above the shoulder
    assert _failed(P.lung_checks(leaked, left)) == ["lungs_within_thorax"]


def test_lungs_outside_the_body_fail(lungs) -> None:  # type: ignore[no-untyped-def]
    right, left = lungs
    body = _box(SHAPE, 10, 190, 45, 190)  # cuts through the right lung: 15 of its 40 columns outside
    assert _failed(P.lung_checks(right, left, body)) == ["lungs_within_thorax"]


def test_lungs_at_different_heights_fail(lungs) -> None:  # type: ignore[no-untyped-def]
    right, _ = lungs
    low_left = _box(SHAPE, 120, 190, 130, 175)
    assert "lungs_side_by_side" in _failed(P.lung_checks(right, low_left))


def test_heart_checks(lungs) -> None:  # type: ignore[no-untyped-def]
    right, left = lungs
    heart = _box(SHAPE, 90, 135, 80, 125)  # reaches the lowest quarter (rows ≥ 115)
    assert _failed(P.heart_checks(heart, right, left, 0.32)) == []
    assert _failed(P.heart_checks(heart, right, left, 0.85)) == ["ctr_range"]
    assert _failed(P.heart_checks(heart, right, left, 0.29)) == ["ctr_range"]
    assert _failed(P.heart_checks(heart, right, left, float("nan"))) == ["ctr_range"]
    high = _box(SHAPE, 60, 100, 80, 125)  # stops where a lung segmentation stopped
    assert _failed(P.heart_checks(high, right, left, 0.32)) == ["heart_base_outlined"]
    beside = _box(SHAPE, 90, 135, 175, 195)
    assert "heart_between_lungs" in _failed(P.heart_checks(beside, right, left, 0.32))
    assert _failed(P.heart_checks(None, right, left, 0.32)) == ["heart_found"]


def test_hilar_zone_is_medial_and_central(lungs) -> None:  # type: ignore[no-untyped-def]
    right, left = lungs
    hilum = P.hilar_zone(right, left)
    rows, cols = np.flatnonzero(hilum.any(axis=1)), np.flatnonzero(hilum.any(axis=0))
    assert (rows[0], rows[-1]) == (73, 105)  # middle third of rows 40–139
    assert (cols[0], cols[-1]) == (58, 69)  # medial 30% (12 of 40 columns), towards the other lung
    assert np.flatnonzero(P.hilar_zone(left, right).any(axis=0))[0] == 130


def test_nodule_checks(lungs) -> None:  # type: ignore[no-untyped-def]
    right, left = lungs
    hila = P.hilar_zone(right, left) | P.hilar_zone(left, right)
    view = np.full(SHAPE, 0.3)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    view += 0.01 * np.sin(xx) * np.cos(yy)  # lung texture, SD ≈ 0.005
    disc = (yy - 55) ** 2 + (xx - 45) ** 2 <= 36
    view[disc] = 0.6
    assert _failed(P.nodule_checks(disc, view, right, hila, 8.0, 1.1)) == []
    assert _failed(P.nodule_checks(disc, view, right, hila, 8.0, 2.5)) == ["nodule_round"]
    assert _failed(P.nodule_checks(disc, view, right, hila, 35.0, 1.1)) == ["nodule_size"]
    faint = view.copy()
    faint[disc] = 0.305
    assert _failed(P.nodule_checks(disc, faint, right, hila, 8.0, 1.1)) == ["nodule_contrast"]
    on_hilum = (yy - 90) ** 2 + (xx - 64) ** 2 <= 16
    assert "nodule_off_hilum" in _failed(P.nodule_checks(on_hilum, view, right, hila, 6.0, 1.0))
    outside = (yy - 55) ** 2 + (xx - 100) ** 2 <= 36
    assert "nodule_in_lung" in _failed(P.nodule_checks(outside, view, right, hila, 8.0, 1.0))


def test_ctr_stability() -> None:
    assert P.ctr_stability(0.41, [0.41, 0.40, 0.43]).passed
    unstable = P.ctr_stability(0.53, [0.40, 0.53, 0.54])
    assert not unstable.passed and "0.40–0.54" in unstable.reason
    assert not P.ctr_stability(0.45, [float("nan"), 0.45]).passed  # a re-run found no heart
