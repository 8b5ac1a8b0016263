"""content_ref and normalised_box."""

from __future__ import annotations

import numpy as np

from inference.artefacts import content_ref, normalised_box


def test_content_ref_depends_on_values_dtype_and_shape_not_layout() -> None:
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    ref = content_ref(a)
    assert ref.startswith("sha256:") and len(ref) == 7 + 64
    assert content_ref(np.asfortranarray(a)) == ref
    assert content_ref(a.copy()) == ref
    assert content_ref(a.reshape(4, 3)) != ref
    assert content_ref(a.astype(np.uint16)) != ref
    b = a.astype(">u2")
    assert content_ref(b) == content_ref(a.astype("<u2"))


def test_box_2d_is_x_then_y_covering_whole_pixels() -> None:
    mask = np.zeros((10, 20), dtype=bool)
    mask[2:5, 4:8] = True  # rows 2..4, cols 4..7
    assert normalised_box(mask) == (4 / 20, 2 / 10, 8 / 20, 5 / 10)
    assert normalised_box(np.zeros((3, 3), dtype=bool)) is None


def test_box_3d_orders_x_y_z_from_spl_axes() -> None:
    mask = np.zeros((4, 10, 20), dtype=bool)
    mask[1:3, 5:10, 0:2] = True
    assert normalised_box(mask) == (0.0, 0.5, 0.25, 0.1, 1.0, 0.75)
