"""threshold-ct on the CT phantom: every Reg2RG region is found, in the right place."""

from __future__ import annotations

import numpy as np
import pytest

from inference.records import CT_REGIONS
from viewer.records import Image


def _image(phantom) -> Image:  # type: ignore[no-untyped-def]
    sz, sy, sx = phantom.spacing_mm
    return Image(pixels=phantom.pixels, spacing_mm=phantom.spacing_mm,
                 affine=np.diag([sx, sy, sz, 1.0]), modality="CT", photometric="MONOCHROME2",
                 default_window=(40.0, 400.0), source="phantom-ct", sha256="0" * 64)


@pytest.fixture(scope="module")
def result(ct_phantom):  # type: ignore[no-untyped-def]
    from inference.segmenters.threshold_ct import ThresholdCTSegmenter

    return ThresholdCTSegmenter().segment(_image(ct_phantom))


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def _centre_mm(mask: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    return np.argwhere(mask).mean(axis=0) * np.asarray(spacing)


def test_every_ct_region_has_an_approximate_mask_of_the_image_shape(result, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    for region in CT_REGIONS:
        m = result.masks[region]
        assert m.mask.shape == ct_phantom.pixels.shape and m.mask.dtype == bool
        assert m.mask.any(), region
        assert m.approximate and m.method


@pytest.mark.parametrize(("region", "labels", "threshold"), [
    ("body", ("body",), 0.99),
    ("lungs", ("lung_right", "lung_left"), 0.95),
    ("bones", ("bones",), 0.85),
    ("trachea and bronchi", ("trachea",), 0.8),
    ("thyroid", ("thyroid",), 0.9),
    ("heart", ("heart",), 0.6),
    ("breasts", ("breasts",), 0.7),
    ("abdomen", ("abdomen",), 0.7),
])
def test_dice_against_phantom_labels(result, ct_phantom, region, labels, threshold) -> None:  # type: ignore[no-untyped-def]
    truth = np.zeros_like(ct_phantom.labels["body"])
    for name in labels:
        truth |= ct_phantom.labels[name]
    assert _dice(result.masks[region].mask, truth) > threshold


def test_lungs_split_left_right_by_patient_side(result, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    parts = result.masks["lungs"].parts
    assert _dice(parts["right"], ct_phantom.labels["lung_right"]) > 0.93
    assert _dice(parts["left"], ct_phantom.labels["lung_left"]) > 0.97
    # SPL: axis 2 increases toward the patient's left.
    assert np.argwhere(parts["left"])[:, 2].mean() > np.argwhere(parts["right"])[:, 2].mean()


def test_heart_centroid_is_left_of_the_midline(result, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    midline = np.argwhere(ct_phantom.labels["body"])[:, 2].mean()
    assert np.argwhere(result.masks["heart"].mask)[:, 2].mean() > midline + 3


def test_pleura_holds_the_right_effusion(result, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    effusion = result.masks["pleura"].parts["effusion"]
    assert _dice(effusion, ct_phantom.labels["effusion"]) > 0.8
    assert not (effusion & ct_phantom.labels["lung_left"]).any()


def test_structures_sit_where_anatomy_puts_them(result, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    sp = ct_phantom.spacing_mm
    c = {r: _centre_mm(m.mask, sp) for r, m in result.masks.items()}
    lung_slices = np.flatnonzero(result.masks["lungs"].mask.any(axis=(1, 2)))
    assert c["abdomen"][0] < lung_slices.mean() * sp[0]  # below the lungs
    assert c["thyroid"][0] > c["heart"][0]  # above
    assert c["thyroid"][1] < c["trachea and bronchi"][1]  # anterior
    assert c["breasts"][1] < c["heart"][1]  # anterior
    esophagus_truth = _centre_mm(ct_phantom.labels["esophagus"], sp)
    assert np.linalg.norm(c["esophagus"] - esophagus_truth) < 15.0
    assert np.linalg.norm(c["mediastinum"][1:] - _centre_mm(ct_phantom.labels["mediastinum"], sp)[1:]) < 25


def test_breasts_absent_when_nothing_protrudes(ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.segmenters.threshold_ct import ThresholdCTSegmenter

    flat = ct_phantom.pixels.copy()
    flat[ct_phantom.labels["breasts"]] = -1000.0
    result = ThresholdCTSegmenter().segment(_image(type(ct_phantom)(flat, ct_phantom.spacing_mm)))
    assert "breasts" not in result.masks


def test_downsampled_path_returns_full_shape_masks(ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.segmenters.threshold_ct import ThresholdCTSegmenter

    result = ThresholdCTSegmenter(max_inplane=80, max_slices=32).segment(_image(ct_phantom))
    lungs = result.masks["lungs"].mask
    assert lungs.shape == ct_phantom.pixels.shape
    truth = ct_phantom.labels["lung_right"] | ct_phantom.labels["lung_left"]
    assert _dice(lungs, truth) > 0.9


def test_rejects_a_2d_image(cxr_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.segmenters.threshold_ct import ThresholdCTSegmenter

    image = Image(pixels=cxr_phantom.pixels, spacing_mm=(0.7, 0.7), affine=np.eye(4), modality="DX",
                  photometric="MONOCHROME2", default_window=None, source="x.png", sha256="0" * 64)
    with pytest.raises(ValueError, match="cxr-classical"):
        ThresholdCTSegmenter().segment(image)


@pytest.mark.slow
def test_large_volume_in_reasonable_time(ct_phantom) -> None:  # type: ignore[no-untyped-def]
    """A 320×480×480 volume (the phantom repeated to 1 × 0.8 × 0.8 mm) segments in well under a minute."""
    import time

    from inference.segmenters.threshold_ct import ThresholdCTSegmenter

    def big(a: np.ndarray) -> np.ndarray:
        return a.repeat(5, 0).repeat(3, 1).repeat(3, 2)

    image = Image(pixels=big(ct_phantom.pixels), spacing_mm=(1.0, 0.8, 0.8),
                  affine=np.diag([0.8, 0.8, 1.0, 1.0]), modality="CT", photometric="MONOCHROME2",
                  default_window=None, source="big", sha256="0")
    started = time.process_time()
    result = ThresholdCTSegmenter().segment(image)
    assert time.process_time() - started < 60.0
    truth = big(ct_phantom.labels["lung_right"] | ct_phantom.labels["lung_left"])
    assert _dice(result.masks["lungs"].mask, truth) > 0.93
    assert set(result.masks) >= set(CT_REGIONS)
