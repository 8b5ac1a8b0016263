"""Planes: radiological orientation on an asymmetric volume, square pixels, positions, box geometry."""

from __future__ import annotations

import numpy as np
import pytest

from tests.images import make_image
from viewer.planes import axis_map, extract_plane, spl_affine
from viewer.records import Image

SHAPE = (20, 30, 40)  # k (→ superior), i (→ posterior), j (→ patient left)
SPACING = (3.0, 1.0, 1.5)  # non-isotropic on purpose


def _volume(pixels: np.ndarray, spacing: tuple[float, ...] | None = SPACING) -> Image:
    affine = spl_affine(spacing or (1.0, 1.0, 1.0), origin_mm=(0.0, 0.0, -30.0))
    return make_image(
        pixels, modality="CT", spacing_mm=spacing, affine=affine, source="synthetic", sha256="1" * 64
    )


@pytest.fixture(scope="module")
def marked() -> Image:
    """Marker 1000 in the patient's right-anterior-superior corner, 500 in left-posterior-inferior."""
    pixels = np.zeros(SHAPE, dtype=np.float32)
    pixels[-4:, :4, :4] = 1000.0  # superior (high k), anterior (low i), right (low j)
    pixels[:4, -4:, -4:] = 500.0  # inferior, posterior, left
    return _volume(pixels)


def _quadrant_of(plane_pixels: np.ndarray, value: float) -> tuple[str, str]:
    rows, cols = np.nonzero(plane_pixels == value)
    assert rows.size, f"value {value} not visible in the plane"
    h, w = plane_pixels.shape
    return ("top" if rows.mean() < h / 2 else "bottom", "left" if cols.mean() < w / 2 else "right")


@pytest.mark.parametrize(("plane", "index"), [("axial", 18), ("coronal", 2), ("sagittal", 2)])
def test_right_anterior_superior_marker_is_top_left(marked: Image, plane: str, index: int) -> None:
    # axial: anterior up, patient right on screen left; coronal: superior up, right on screen left;
    # sagittal: superior up, anterior on screen left.
    cut = extract_plane(marked, plane, index)
    assert _quadrant_of(cut.pixels, 1000.0) == ("top", "left")


@pytest.mark.parametrize(("plane", "index"), [("axial", 1), ("coronal", 27), ("sagittal", 37)])
def test_left_posterior_inferior_marker_is_bottom_right(marked: Image, plane: str, index: int) -> None:
    cut = extract_plane(marked, plane, index)
    assert _quadrant_of(cut.pixels, 500.0) == ("bottom", "right")


@pytest.mark.parametrize(
    ("plane", "labels"),
    [
        ("axial", {"top": "A", "bottom": "P", "left": "R", "right": "L"}),
        ("coronal", {"top": "S", "bottom": "I", "left": "R", "right": "L"}),
        ("sagittal", {"top": "S", "bottom": "I", "left": "A", "right": "P"}),
    ],
)
def test_orientation_labels(marked: Image, plane: str, labels: dict[str, str]) -> None:
    assert dict(extract_plane(marked, plane).labels) == labels


@pytest.mark.parametrize(
    ("plane", "shape", "size"),
    [
        ("axial", (30, 60), 1.0),  # 30 rows × 1.0 mm by 40 cols × 1.5 mm → 1.0 mm pixels
        ("coronal", (40, 40), 1.5),  # 20 × 3.0 mm by 40 × 1.5 mm → 1.5 mm pixels
        ("sagittal", (60, 30), 1.0),  # 20 × 3.0 mm by 30 × 1.0 mm → 1.0 mm pixels
    ],
)
def test_planes_are_resampled_to_square_pixels(
    marked: Image, plane: str, shape: tuple[int, int], size: float
) -> None:
    cut = extract_plane(marked, plane)
    assert cut.shape == shape
    assert cut.pixels.dtype == np.float32
    assert cut.spacing_mm == size


def test_slice_index_maps_to_patient_position(marked: Image) -> None:
    axial = extract_plane(marked, "axial", 18)
    assert axial.position_mm == pytest.approx(18 * 3.0 - 30.0)  # z = k·3 mm + origin −30 mm
    assert axial.position_label == "S 24.0 mm"
    assert extract_plane(marked, "axial", 2).position_label == "I 24.0 mm"
    assert extract_plane(marked, "coronal", 2).position_label == "P 2.0 mm"
    assert extract_plane(marked, "sagittal", 4).position_label == "L 6.0 mm"


def test_linear_resampling_interpolates_between_slices() -> None:
    pixels = np.broadcast_to(np.arange(4, dtype=np.float32)[:, None, None] * 10.0, (4, 2, 2)).copy()
    image = _volume(pixels, spacing=(2.0, 1.0, 1.0))
    cut = extract_plane(image, "coronal", 0)
    # rows: 4 slices × 2 mm → 8 rows of 1 mm, superior first; source k at row centres
    # r → k = 3 − clip((r + 0.5)/2 − 0.5, 0, 3)
    expected = [30.0, 27.5, 22.5, 17.5, 12.5, 7.5, 2.5, 0.0]
    assert cut.pixels[:, 0].tolist() == pytest.approx(expected)


def test_voxel_at_maps_display_pixels_back_to_voxels(marked: Image) -> None:
    coronal = extract_plane(marked, "coronal", 2)
    assert coronal.voxel_at(0, 0) == (19, 2, 0)  # top-left = most superior, patient right
    assert coronal.voxel_at(39, 39) == (0, 2, 39)
    assert marked.pixels[coronal.voxel_at(0, 0)] == 1000.0
    with pytest.raises(ValueError, match=r"\(row 40, col 0\) is outside"):
        coronal.voxel_at(40, 0)


def test_3d_box_after_resampling_in_every_plane(marked: Image) -> None:
    box = (0.25, 0.1, 0.5, 0.5, 0.2, 1.0)  # x (j), y (i), z (k)
    coronal = extract_plane(marked, "coronal", 3)  # slab i ∈ [0.1, 0.133)
    assert coronal.box_to_display(box) == pytest.approx((10.0, 0.0, 20.0, 20.0))  # 40×40 display
    axial = extract_plane(marked, "axial", 15)  # k slab [0.75, 0.8) inside z ∈ [0.5, 1]
    assert axial.box_to_display(box) == pytest.approx((15.0, 3.0, 30.0, 6.0))
    sagittal = extract_plane(marked, "sagittal", 12)  # j slab [0.3, 0.325)
    assert sagittal.box_to_display(box) == pytest.approx((3.0, 0.0, 6.0, 30.0))


def test_3d_box_appears_only_on_slices_it_intersects(marked: Image) -> None:
    box = (0.25, 0.1, 0.5, 0.5, 0.2, 1.0)
    hits = [i for i in range(SHAPE[1]) if extract_plane(marked, "coronal", i).box_to_display(box)]
    assert hits == [3, 4, 5]  # slabs [3/30, 4/30) … [5/30, 6/30) overlap (0.1, 0.2); 2 and 6 only touch
    flat = (0.0, 0.0, 0.5, 1.0, 1.0, 0.5)  # a zero-thickness box lies in exactly one slice
    assert [k for k in range(SHAPE[0]) if extract_plane(marked, "axial", k).box_to_display(flat)] == [10]


def test_2d_box_on_non_square_anisotropic_image() -> None:
    wide = make_image(np.zeros((100, 200)), spacing_mm=(0.5, 1.0), affine=np.diag([0.5, 1, 1, 1]), sha256="2")
    cut = extract_plane(wide)
    assert cut.shape == (100, 400) and cut.spacing_mm == 0.5  # columns upsampled ×2 to square pixels
    assert cut.box_to_display((0.1, 0.2, 0.3, 0.4)) == pytest.approx((40.0, 20.0, 120.0, 40.0))
    assert cut.display_to_normalised(40.0, 20.0) == pytest.approx((0.1, 0.2))
    assert cut.voxel_at(20, 41) == (20, 20)


def test_display_to_normalised_inverts_box_to_display(marked: Image) -> None:
    sagittal = extract_plane(marked, "sagittal", 12)
    x, y, z = sagittal.display_to_normalised(3.0, 0.0)
    assert (y, z) == pytest.approx((0.1, 1.0))
    assert x == pytest.approx(12.5 / 40)  # slab centre


@pytest.mark.parametrize(
    "box", [(0.1, 0.2, 1.2, 0.5), (0.5, 0.2, 0.1, 0.4), (0.1, 0.2, 0.3), (0.1, float("nan"), 0.2, 0.3)]
)
def test_bad_boxes_are_refused(box: tuple[float, ...]) -> None:
    unknown = make_image(np.zeros((4, 4)), modality="OT", spacing_mm=None, sha256="3")
    with pytest.raises(ValueError, match="box"):
        extract_plane(unknown).box_to_display(box)


def test_bad_plane_and_index_name_the_values(marked: Image) -> None:
    with pytest.raises(ValueError, match="unknown plane 'oblique'"):
        extract_plane(marked, "oblique")
    with pytest.raises(ValueError, match=r"axial index 20 is outside 0\.\.19"):
        extract_plane(marked, "axial", 20)


def test_unknown_spacing_keeps_pixels_and_reports_none() -> None:
    image = _volume(np.zeros(SHAPE), spacing=None)
    cut = extract_plane(image, "coronal")
    assert cut.shape == (20, 40) and cut.spacing_mm is None


def test_2d_orientation_labels_from_patient_orientation() -> None:
    meta = {"PatientOrientation": "L\\F"}
    radiograph = make_image(np.zeros((4, 4)), spacing_mm=(1.0, 1.0), sha256="4", meta=meta)
    assert dict(extract_plane(radiograph).labels) == {"right": "L", "left": "R", "bottom": "F", "top": "H"}


def test_axis_map_flip_and_identity() -> None:
    flipped = axis_map(0, 4, 4, flipped=True)
    assert flipped.nearest.tolist() == [3, 2, 1, 0]
    assert axis_map(0, 4, 4).identity and not flipped.identity
