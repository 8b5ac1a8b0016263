"""cxr-classical on the frontal CXR phantom (MONOCHROME2 and inverted MONOCHROME1)."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.records import Image


def _image(pixels: np.ndarray, photometric: str = "MONOCHROME2") -> Image:
    return Image(pixels=pixels.astype(np.float32), spacing_mm=(0.7, 0.7), affine=np.eye(4), modality="DX",
                 photometric=photometric, default_window=None, source="phantom-cxr", sha256="0" * 64,
                 view="PA")


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


@pytest.fixture(scope="module")
def result(cxr_phantom):  # type: ignore[no-untyped-def]
    from inference.segmenters.cxr import CXRClassicalSegmenter

    return CXRClassicalSegmenter().segment(_image(cxr_phantom.pixels))


def test_otsu_splits_two_levels() -> None:
    from inference.segmenters.cxr import otsu

    values = np.array([0.2] * 50 + [0.8] * 50)
    assert 0.2 < otsu(values) < 0.8


def test_lungs_heart_mediastinum_against_labels(result, cxr_phantom) -> None:  # type: ignore[no-untyped-def]
    labels = cxr_phantom.labels
    assert _dice(result.masks["lungs"].mask, labels["lung_right"] | labels["lung_left"]) > 0.95
    assert _dice(result.masks["lungs"].parts["right"], labels["lung_right"]) > 0.95
    assert _dice(result.masks["heart"].mask, labels["heart"]) > 0.8
    assert _dice(result.masks["mediastinum"].mask, labels["mediastinum"]) > 0.6
    assert _dice(result.masks["bones"].mask, labels["ribs"]) > 0.4


def test_heart_is_on_image_right_patient_left(result, cxr_phantom) -> None:  # type: ignore[no-untyped-def]
    cols = cxr_phantom.pixels.shape[1]
    assert np.argwhere(result.masks["heart"].mask)[:, 1].mean() > cols / 2 + 10
    right_lung = np.argwhere(result.masks["lungs"].parts["right"])[:, 1].mean()
    assert right_lung < cols / 2  # patient right on image left


def test_diaphragm_below_and_pleura_around_the_lungs(result) -> None:  # type: ignore[no-untyped-def]
    lungs = result.masks["lungs"].mask
    assert np.argwhere(result.masks["diaphragm"].mask)[:, 0].mean() > np.argwhere(lungs)[:, 0].max() - 20
    pleura = result.masks["pleura"].mask
    assert not (pleura & lungs).any() and pleura.any()
    for region, m in result.masks.items():
        assert m.approximate and m.mask.shape == lungs.shape, region


def test_monochrome1_gives_the_same_lungs(cxr_phantom, result) -> None:  # type: ignore[no-untyped-def]
    from inference.segmenters.cxr import CXRClassicalSegmenter

    inverted = CXRClassicalSegmenter().segment(_image(4095.0 - cxr_phantom.pixels, "MONOCHROME1"))
    assert _dice(inverted.masks["lungs"].mask, result.masks["lungs"].mask) > 0.98
    assert _dice(inverted.masks["heart"].mask, result.masks["heart"].mask) > 0.95


def test_rejects_a_volume(ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.segmenters.cxr import CXRClassicalSegmenter

    image = Image(pixels=ct_phantom.pixels, spacing_mm=ct_phantom.spacing_mm, affine=np.eye(4),
                  modality="CT", photometric="MONOCHROME2", default_window=None, source="v", sha256="0")
    with pytest.raises(ValueError, match=r"^cxr-classical needs a 2D radiograph, got shape \(\d+, \d+, \d+\) "
                       r"from v; use the 'threshold-ct' segmenter for CT volumes$"):
        CXRClassicalSegmenter().segment(image)


def test_cardiothoracic_ratio_matches_the_phantom_truth(result, cxr_phantom) -> None:  # type: ignore[no-untyped-def]
    """Truth: heart ellipse 2 × 0.14 × 512 = 143 px wide ÷ outer lung span 0.15–0.85 × 512 = 358 px = 0.40."""
    from inference import measure

    labels = cxr_phantom.labels
    truth = measure.cardiothoracic_ratio_2d(labels["heart"], labels["lung_right"] | labels["lung_left"],
                                            base_fraction=0.0)
    assert truth == pytest.approx(0.40, abs=0.005)
    ctr = measure.cardiothoracic_ratio_2d(result.masks["heart"].mask, result.masks["lungs"].mask)
    assert ctr == pytest.approx(truth, abs=0.02)


def test_field_of_view_never_trims_a_flat_or_tiny_image_to_nothing() -> None:
    """A flat 4×4 image (pydicom-decoded from a crafted file) once left an empty field of view and the
    percentile of nothing raised IndexError inside the built-in draft (exit 1)."""
    from inference.segmenters.cxr import field_of_view

    assert field_of_view(np.zeros((4, 4))) == (slice(0, 4), slice(0, 4))
    rows, cols = field_of_view(np.zeros((100, 80)))
    assert rows.stop - rows.start >= 20 and cols.stop - cols.start >= 16
