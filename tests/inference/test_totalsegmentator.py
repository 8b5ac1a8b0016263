"""totalsegmentator: class→region table and missing-package/weights errors (no weights are used)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from inference.segmenters.totalsegmentator import masks_from_labels, region_of_class
from viewer.errors import MissingExtraError


@pytest.mark.parametrize(("name", "target"), [
    ("lung_middle_lobe_right", ("lungs", "right")),
    ("lung_upper_lobe_left", ("lungs", "left")),
    ("trachea", ("trachea and bronchi", None)),
    ("thyroid_gland", ("thyroid", None)),
    ("heart_ventricle_left", ("heart", None)),
    ("rib_right_7", ("bones", None)),
    ("vertebrae_T4", ("bones", None)),
    ("kidney_left", ("abdomen", None)),
    ("brachiocephalic_vein_left", ("mediastinum", None)),
    ("urinary_bladder", None),
])
def test_class_table(name: str, target: tuple[str, str | None] | None) -> None:
    assert region_of_class(name) == target


def test_masks_from_labels_unions_classes_and_keeps_sides() -> None:
    labels = np.array([[0, 1, 2], [3, 4, 5]])
    class_map = {1: "lung_upper_lobe_right", 2: "lung_upper_lobe_left", 3: "lung_lower_lobe_right",
                 4: "aorta", 5: "urinary_bladder"}
    masks = masks_from_labels(labels, class_map)
    assert set(masks) == {"lungs", "mediastinum"}
    assert masks["lungs"].parts["right"].tolist() == [[False, True, False], [True, False, False]]
    assert masks["lungs"].mask.sum() == 3 and not masks["lungs"].approximate
    assert masks["mediastinum"].approximate


@pytest.mark.skipif(importlib.util.find_spec("totalsegmentator") is not None,
                    reason="TotalSegmentator is installed here; this checks the message when it is not")
def test_missing_package_is_exit_4_naming_the_extra() -> None:
    from inference.registry import get_segmenter

    with pytest.raises(MissingExtraError, match=r"pip install 'radreview\[totalsegmentator\]'"):
        get_segmenter("totalsegmentator")


def test_fill_from_threshold_ct_adds_missing_regions_as_approximate() -> None:
    from inference.protocols import RegionMask
    from inference.segmenters.totalsegmentator import fill_from_threshold_ct
    from viewer.phantom import ct_phantom as build
    from viewer.records import Image

    ct_phantom = build(shape=(40, 96, 96), spacing_mm=(8.0, 4.0, 4.0))  # coarse: fast

    image = Image(pixels=ct_phantom.pixels, spacing_mm=ct_phantom.spacing_mm,
                  affine=np.diag([*ct_phantom.spacing_mm[::-1], 1.0]), modality="CT",
                  photometric="MONOCHROME2", default_window=None, source="p", sha256="0")
    heart = RegionMask("heart", ct_phantom.labels["heart"], approximate=False, method="ts")
    filled = fill_from_threshold_ct({"heart": heart}, image)
    assert filled["heart"] is heart
    assert filled["pleura"].approximate and filled["pleura"].method.startswith("threshold-ct fill")
    assert len(filled) == 10
