"""NIfTI: reorientation of non-identity affines to SPL, scl_slope/inter, 4D and corrupt files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from viewer.errors import StudyLoadError
from viewer.io import load_image, load_study
from viewer.records import Image


def _write(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    import nibabel as nib

    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    raw = img.to_bytes()
    path.write_bytes(gzip.compress(raw, mtime=0) if path.name.endswith(".gz") else raw)
    return path


def _lps(affine_ras: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    world = affine_ras @ [*index, 1]
    return np.array([-world[0], -world[1], world[2]])


def _marker_lands(path: Path, affine: np.ndarray, data: np.ndarray, index: tuple[int, int, int], value: float,
                  *, shape: tuple[int, ...], spacing: tuple[float, ...], spl: tuple[int, int, int]) -> Image:
    """Write ``data`` with ``value`` at ``index`` under ``affine``, read it back, and check the SPL shape and
    spacing, that the marker sits at ``spl`` alone, and that the image affine puts it where ``affine`` did."""
    data[index] = value
    image = load_image(_write(path, data, affine))
    assert image.shape == shape and image.spacing_mm == spacing
    assert [tuple(int(v) for v in ix) for ix in np.argwhere(image.pixels == value)] == [spl]
    np.testing.assert_allclose(image.affine @ [*spl, 1], [*_lps(affine, index), 1])
    return image


def test_las_affine_marker_lands_in_spl(tmp_path: Path) -> None:
    # LAS: x index → patient left (RAS x decreasing), y → anterior, z → superior.
    affine = np.array([[-2.0, 0, 0, 30], [0, 3, 0, -40], [0, 0, 4, 50], [0, 0, 0, 1]])
    # S: z unchanged (0); P: y flipped (3 − 1 − 2 = 0); L: x unchanged (1).
    _marker_lands(tmp_path / "las.nii.gz", affine, np.zeros((4, 3, 2), dtype=np.int16), (1, 2, 0), 9,
                  shape=(2, 3, 4), spacing=(4.0, 3.0, 2.0), spl=(0, 0, 1))


def test_permuted_axes_marker_lands_in_spl(tmp_path: Path) -> None:
    # data axis 0 → superior (1.5 mm), axis 1 → patient right (1 mm), axis 2 → posterior (2 mm).
    affine = np.array([[0, 1.0, 0, -5], [0, 0, -2.0, 7], [1.5, 0, 0, -9], [0, 0, 0, 1]])
    # S ← axis 0 (3); P ← axis 2 (2); L ← axis 1 flipped (4 − 1 − 1 = 2).
    image = _marker_lands(tmp_path / "perm.nii", affine, np.zeros((5, 4, 3), np.float32), (3, 1, 2), 7.5,
                          shape=(5, 3, 4), spacing=(1.5, 2.0, 1.0), spl=(3, 2, 2))
    from viewer.io.orient import axcodes

    assert axcodes(image.affine) == "SPL"
    assert image.meta["AcquisitionPlane"] == "CORONAL" and image.view == ""  # third voxel axis → posterior


def test_scl_slope_and_inter_applied(tmp_path: Path) -> None:
    path = _write(tmp_path / "scaled.nii", np.array([[[0, 1], [2, 3]]], dtype=np.uint8), np.eye(4))
    raw = bytearray(path.read_bytes())
    raw[112:120] = struct.pack("<ff", 2.0, -10.0)  # scl_slope, scl_inter
    path.write_bytes(bytes(raw))
    image = load_image(path)
    assert sorted(image.pixels.ravel().tolist()) == [-10.0, -8.0, -6.0, -4.0]


def test_demo_nifti_equals_demo_dicom(demo) -> None:
    nii, dcm = load_study(demo["ct-nifti"]).primary, load_study(demo["ct-dicom"]).primary
    np.testing.assert_array_equal(nii.pixels, dcm.pixels)
    np.testing.assert_allclose(nii.affine, dcm.affine, atol=1e-4)
    assert nii.spacing_mm == dcm.spacing_mm == (5.0, 2.4, 2.4)
    assert nii.modality == "CT" and nii.default_window == (40.0, 400.0)


def test_4d_refused_but_singleton_time_accepted(tmp_path: Path) -> None:
    with pytest.raises(StudyLoadError, match=r"4D NIfTI \(2, 2, 2, 3\)"):
        load_image(_write(tmp_path / "t.nii.gz", np.zeros((2, 2, 2, 3), np.int16), np.eye(4)))
    assert load_image(_write(tmp_path / "t1.nii.gz", np.zeros((2, 2, 2, 1), np.int16), np.eye(4))).shape == (
        2,
        2,
        2,
    )


def test_corrupt_and_truncated_gz_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "bad.nii.gz"
    garbage.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate data at all" * 20)
    with pytest.raises(StudyLoadError, match="corrupt gzip stream"):
        load_image(garbage)
    whole = _write(tmp_path / "whole.nii.gz", np.ones((8, 8, 8), np.int16), np.eye(4)).read_bytes()
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(StudyLoadError, match=str(cut)):
        load_image(cut)
