"""DICOM series: sort by position on the normal, geometry checks, SPL reorientation, hashing, zips."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from viewer.errors import StudyLoadError
from viewer.io import load_image, load_study


def _value(k: int, r: int, c: int) -> int:
    return 1024 + k * 10 + r * 3 + c  # HU after the −1024 intercept: k*10 + r*3 + c


def _negative_series(dcm, folder: Path) -> list[Path]:
    # Row cosines +x (patient left), column cosines −y (anterior): normal = (1,0,0)×(0,−1,0) = (0,0,−1).
    # Slice k sits at z = −2k, so positions *decrease* while the projection on the normal increases.
    slices = []
    for k in range(4):
        arr = np.array([[_value(k, r, c) for c in range(3)] for r in range(2)])
        slices.append(
            dcm.ct_slice(
                arr, (10.0, 20.0, -2.0 * k), orientation=(1, 0, 0, 0, -1, 0), instance=[3, 1, 4, 2][k]
            )
        )
    return dcm.write_series(folder, slices, seed=5)


def test_negative_slice_direction_sorted_and_reoriented_to_spl(dcm, tmp_path: Path) -> None:
    _negative_series(dcm, tmp_path / "neg")
    image = load_image(tmp_path / "neg")
    # SPL: axis 0 from inferior (k=3, z=−6) up; axis 1 from anterior (row 1) back; axis 2 unchanged (+x = L).
    expected = [[[(3 - a) * 10 + (1 - i) * 3 + j for j in range(3)] for i in range(2)] for a in range(4)]
    assert image.pixels.tolist() == expected
    assert image.spacing_mm == (2.0, 0.5, 0.5)
    np.testing.assert_allclose(
        image.affine, [[0, 0, 0.5, 10.0], [0, 0.5, 0, 19.5], [2, 0, 0, -6.0], [0, 0, 0, 1]]
    )
    assert image.warnings == ()


def test_sha256_is_over_files_in_sorted_position_order(dcm, tmp_path: Path) -> None:
    paths = _negative_series(dcm, tmp_path / "neg")  # paths[k] holds slice k (z = −2k, 2k along the normal)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()  # ascending along the normal
    assert load_image(tmp_path / "neg").sha256 == digest


def test_zip_of_series_loads_like_the_folder(dcm, tmp_path: Path) -> None:
    paths = _negative_series(dcm, tmp_path / "neg")
    archive = tmp_path / "neg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in paths:
            zf.write(p, f"study/{p.name}")
    from_zip, from_dir = load_image(archive), load_image(tmp_path / "neg")
    assert from_zip.pixels.tolist() == from_dir.pixels.tolist()
    assert from_zip.sha256 == from_dir.sha256
    np.testing.assert_array_equal(from_zip.affine, from_dir.affine)


def _axial(dcm, folder: Path, zs: list[float], shift_y: float = 0.0) -> None:
    slices = [dcm.ct_slice(np.full((2, 2), 1000 + i), (0.0, shift_y * i, z)) for i, z in enumerate(zs)]
    dcm.write_series(folder, slices)


def test_missing_slices_are_an_error(dcm, tmp_path: Path) -> None:
    _axial(dcm, tmp_path / "gap", [0, 2, 4, 10, 12])
    with pytest.raises(
        StudyLoadError, match=r"missing slices: gap of 6.00 mm .*median spacing 2.00 mm, about 2"
    ):
        load_image(tmp_path / "gap")


def test_duplicate_positions_are_an_error(dcm, tmp_path: Path) -> None:
    _axial(dcm, tmp_path / "dup", [0, 2, 2, 4])
    with pytest.raises(StudyLoadError, match="1 duplicate slice position"):
        load_image(tmp_path / "dup")


def test_non_uniform_spacing_is_a_warning(dcm, tmp_path: Path) -> None:
    _axial(dcm, tmp_path / "uneven", [0, 2, 4.1, 6])
    image = load_image(tmp_path / "uneven")
    assert image.shape == (4, 2, 2)
    assert any("non-uniform slice spacing: steps 1.900–2.100 mm" in w for w in image.warnings)


def test_gantry_tilt_is_a_warning_and_the_affine_keeps_the_shear(dcm, tmp_path: Path) -> None:
    _axial(dcm, tmp_path / "tilt", [0, 2, 4, 6], shift_y=0.5)  # atan(0.5 / 2) = 14.0°
    image = load_image(tmp_path / "tilt")
    assert any("gantry tilt of 14.0°" in w for w in image.warnings)
    np.testing.assert_allclose(image.affine[:3, 0], [0.0, 0.5, 2.0])


def test_two_series_listed_or_picked(dcm, tmp_path: Path) -> None:
    a = [dcm.ct_slice(np.full((2, 2), 1000), (0, 0, z), series="1.2.9.1") for z in (0, 2, 4)]
    b = [dcm.ct_slice(np.full((2, 2), 1500), (0, 0, z), series="1.2.9.2") for z in (0, 3)]
    dcm.write_series(tmp_path / "two", a + b)
    with pytest.raises(
        StudyLoadError,
        match=r"2 series found: 1\.2\.9\.1 \(3 slices, CT\); 1\.2\.9\.2 "
        r"\(2 slices, CT\); pass --series UID",
    ):
        load_study(tmp_path / "two")
    picked = load_study(tmp_path / "two", series="1.2.9.2").primary
    assert picked.shape == (2, 2, 2) and float(picked.pixels.max()) == 476.0
    assert picked.meta["SeriesInstanceUID"] == "1.2.9.2"


def test_ct_phantom_series_affine_spacing_and_hu(demo, ct_phantom) -> None:
    study = load_study(demo["ct-dicom"])
    image = study.primary
    assert study.kind == "ct" and image.modality == "CT" and image.view == "AXIAL"
    assert image.shape == (64, 160, 160)
    assert image.spacing_mm == (5.0, 2.4, 2.4)
    # Origin: x = y = −(160 − 1)/2 × 2.4 = −190.8 mm, z = −(64 − 1)/2 × 5 = −157.5 mm; axes S, P, L.
    np.testing.assert_allclose(
        image.affine, [[0, 0, 2.4, -190.8], [0, 2.4, 0, -190.8], [5, 0, 0, -157.5], [0, 0, 0, 1]], atol=1e-9
    )
    expected = np.clip(np.round(ct_phantom.pixels + 1024.0), 0, 4095) - 1024.0  # as stored: uint16, −1024
    np.testing.assert_array_equal(image.pixels, expected)
    assert image.default_window == (40.0, 400.0)
    k, i, j = ct_phantom.nodule_index
    assert 20 <= image.pixels[k, i, j] <= 80  # the nodule (45 HU + noise) where the phantom put it


def test_pydicom_ct_small_loads_as_one_slice_volume() -> None:
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.pixels import apply_modality_lut

    path = get_testdata_file("CT_small.dcm", download=False)
    ds = pydicom.dcmread(path)
    study = load_study(path)
    image = study.primary
    assert study.kind == "ct" and image.modality == "CT"
    assert image.shape == (1, 128, 128)
    assert image.spacing_mm == (5.0, 0.661468, 0.661468)
    np.testing.assert_array_equal(image.pixels[0], apply_modality_lut(ds.pixel_array, ds).astype(np.float32))
    assert float(image.pixels.min()) == float(ds.pixel_array.min()) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(image.affine[:3, 3], [float(v) for v in ds.ImagePositionPatient])
    assert any("single slice" in w for w in image.warnings)


def test_pydicom_mr_small_loads_as_one_slice_volume() -> None:
    import pydicom
    from pydicom.data import get_testdata_file

    path = get_testdata_file("MR_small.dcm", download=False)
    ds = pydicom.dcmread(path)
    image = load_image(path)
    assert image.modality == "MR" and image.shape == (1, 64, 64)
    assert image.spacing_mm == (0.8, 0.3125, 0.3125)
    np.testing.assert_array_equal(image.pixels[0], ds.pixel_array.astype(np.float32))
    assert image.default_window == (600.0, 1600.0)


def test_sagittal_series_reoriented_to_spl(dcm, tmp_path: Path) -> None:
    # Rows run inferior (column cosines (0,0,−1)), columns run posterior (row cosines (0,1,0)):
    # normal = (0,1,0) × (0,0,−1) = (−1,0,0), so slices at x = 0, −1, −2 step toward the patient's right.
    slices = []
    for k in range(3):
        arr = np.array([[1024 + 100 * k + 10 * r + c for c in range(4)] for r in range(2)])
        slices.append(
            dcm.ct_slice(arr, (-1.0 * k, 0.0, 0.0), orientation=(0, 1, 0, 0, 0, -1), spacing=(0.7, 0.4))
        )
    dcm.write_series(tmp_path / "sag", slices)
    image = load_image(tmp_path / "sag")
    # S ← rows flipped (a = 1 − r); P ← columns (i = c); L ← slices reversed (j = 2 − k).
    expected = [[[100 * (2 - j) + 10 * (1 - a) + i for j in range(3)] for i in range(4)] for a in range(2)]
    assert image.pixels.tolist() == expected
    assert image.spacing_mm == (0.7, 0.4, 1.0)
    assert image.meta["AcquisitionPlane"] == "SAGITTAL" and image.view == ""


def test_folder_of_frontal_and_lateral_radiographs(dcm, tmp_path: Path) -> None:
    for i, (name, view) in enumerate((("a.dcm", "LL"), ("b.dcm", "PA"))):
        dcm.save(
            dcm.dataset(
                np.zeros((4, 4), dtype=np.uint16),
                ViewPosition=view,
                SeriesInstanceUID=f"1.2.9.{i}",
            ),
            tmp_path / "cxr" / name,
        )
    study = load_study(tmp_path / "cxr")
    assert study.kind == "cxr" and [im.view for im in study.images] == ["PA", "LATERAL"]
    assert study.lateral is study.images[1]
    dcm.save(dcm.dataset(np.zeros((4, 4), dtype=np.uint16), ViewPosition="AP"), tmp_path / "cxr" / "c.dcm")
    with pytest.raises(StudyLoadError, match="3 radiographs found"):
        load_study(tmp_path / "cxr")


@pytest.mark.parametrize("signed", [False, True])
def test_fast_pixel_path_matches_pydicom_for_12_bit_stored(dcm, tmp_path: Path, signed: bool) -> None:
    import pydicom
    from pydicom.pixels import apply_modality_lut

    raw = np.array([[0x0FFF, 0x0800, 0x07FF, 0xF001]], dtype=np.uint16)  # high nibble set in the last
    slices = []
    for z in (0.0, 1.0):
        ds = dcm.ct_slice(raw, (0.0, 0.0, z))
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, int(signed)
        slices.append(ds)
    paths = dcm.write_series(tmp_path / "b12", slices)
    reference = pydicom.dcmread(paths[0])
    expected = apply_modality_lut(reference.pixel_array, reference).astype(np.float32)
    np.testing.assert_array_equal(load_image(tmp_path / "b12").pixels[0], expected)
