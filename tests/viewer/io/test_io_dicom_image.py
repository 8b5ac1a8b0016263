"""Single DICOM images: modality LUT first, VOI kept, MONOCHROME1 kept, spacing rules, colour, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viewer.errors import MissingExtraError, StudyLoadError
from viewer.io import load_image, load_study


def test_rescale_then_window_values_on_five_pixels(dcm, tmp_path: Path) -> None:
    # stored → slope 2, intercept −1024: 0→−1024, 1→−1022, 2→−1020, 100→−824, 4095→7166
    ds = dcm.dataset(
        np.array([[0, 1, 2, 100, 4095]], dtype=np.uint16),
        modality="CR",
        RescaleSlope=2,
        RescaleIntercept=-1024,
        WindowCenter=["40", "-600"],
        WindowWidth=["400", "1500"],
        VOILUTFunction="SIGMOID",
    )
    image = load_image(dcm.save(ds, tmp_path / "a.dcm"))
    assert image.pixels.tolist() == [[-1024.0, -1022.0, -1020.0, -824.0, 7166.0]]
    assert image.pixels.dtype == np.float32
    assert image.default_window == (40.0, 400.0)  # first of the multi-valued pair
    assert image.voi_function == "SIGMOID"


def test_modality_lut_sequence_applied(dcm, tmp_path: Path) -> None:
    from pydicom.dataset import Dataset

    item = Dataset()
    item.LUTDescriptor, item.ModalityLUTType = [4, 0, 16], "US"
    item.LUTData = np.array([10, 20, 30, 40], dtype="<u2").tobytes()
    ds = dcm.dataset(np.array([[0, 1, 2, 3, 9]], dtype=np.uint16), ModalityLUTSequence=[item])
    image = load_image(dcm.save(ds, tmp_path / "lut.dcm"))
    assert image.pixels.tolist() == [[10.0, 20.0, 30.0, 40.0, 40.0]]  # past the table → last entry


def test_monochrome1_keeps_modality_values(dcm, tmp_path: Path) -> None:
    ds = dcm.dataset(
        np.array([[0, 100], [200, 4095]], dtype=np.uint16),
        modality="CR",
        photometric="MONOCHROME1",
        WindowCenter=2000,
        WindowWidth=4000,
    )
    image = load_image(dcm.save(ds, tmp_path / "m1.dcm"))
    assert image.photometric == "MONOCHROME1"
    assert image.pixels.tolist() == [[0.0, 100.0], [200.0, 4095.0]]  # not inverted here
    assert image.default_window == (2000.0, 4000.0)


def test_voi_lut_sequence_kept(dcm, tmp_path: Path) -> None:
    from pydicom.dataset import Dataset

    item = Dataset()
    item.LUTDescriptor = [3, 5, 8]
    item.LUTData = np.array([0, 128, 255], dtype="<u2").tobytes()
    ds = dcm.dataset(np.zeros((2, 2), dtype=np.uint16), VOILUTSequence=[item])
    image = load_image(dcm.save(ds, tmp_path / "voi.dcm"))
    assert image.voi_lut == (5, 8, (0, 128, 255))
    assert image.default_window is None


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"PixelSpacing": ["0", "0"]}, None),
        ({"PixelSpacing": ["0", "0"], "ImagerPixelSpacing": ["0.15", "0.2"]}, (0.15, 0.2)),
        ({"PixelSpacing": ["0.14", "0.14"], "ImagerPixelSpacing": ["0.15", "0.15"]}, (0.14, 0.14)),
        ({}, None),
    ],
)
def test_spacing_rules(dcm, tmp_path: Path, attrs: dict, expected: tuple | None) -> None:
    ds = dcm.dataset(np.zeros((3, 4), dtype=np.uint16), **attrs)
    image = load_image(dcm.save(ds, tmp_path / "s.dcm"))
    assert image.spacing_mm == expected
    assert image.affine[0, 0] == (expected[0] if expected else 1.0)


@pytest.mark.parametrize(
    ("position", "view"), [("PA", "PA"), ("AP", "AP"), ("LL", "LATERAL"), ("LATERAL", "LATERAL"), ("", "")]
)
def test_view_from_view_position(dcm, tmp_path: Path, position: str, view: str) -> None:
    ds = dcm.dataset(np.zeros((2, 2), dtype=np.uint16), ViewPosition=position)
    assert load_image(dcm.save(ds, tmp_path / "v.dcm")).view == view


def test_rgb_converted_with_bt601_luma(dcm, tmp_path: Path) -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    ds = dcm.dataset(rgb, modality="OT", photometric="RGB", SOPClassUID="1.2.840.10008.5.1.4.1.1.7")
    image = load_image(dcm.save(ds, tmp_path / "rgb.dcm"))
    assert image.pixels[0].tolist() == pytest.approx(
        [76.245, 149.685, 29.07, 0.299 * 10 + 0.587 * 20 + 0.114 * 30], abs=1e-3
    )
    assert image.photometric == "MONOCHROME2"
    assert any("BT.601" in w for w in image.warnings)


def test_meta_has_no_phi(dcm, tmp_path: Path) -> None:
    ds = dcm.dataset(
        np.zeros((2, 2), dtype=np.uint16),
        modality="CR",
        Manufacturer="ACME",
        KVP="110",
        InstitutionName="St Secret",
        StudyDescription="free text",
    )
    study = load_study(dcm.save(ds, tmp_path / "phi.dcm"))
    meta = study.primary.meta
    assert meta["Modality"] == "CR" and meta["Manufacturer"] == "ACME" and meta["KVP"] == "110"
    text = " ".join(f"{k}={v}" for k, v in meta.items())
    for secret in ("SECRET", "20240101", "St Secret", "free text"):
        assert secret not in text
    assert "SECRET" not in study.case_id and study.case_id == f"case-{study.primary.sha256[:12]}"
    assert study.kind == "cxr"


def test_multiframe_refused(dcm, tmp_path: Path) -> None:
    ds = dcm.dataset(np.zeros((2, 2), dtype=np.uint16), NumberOfFrames=3)
    ds.PixelData = np.zeros((3, 2, 2), dtype=np.uint16).tobytes()
    with pytest.raises(StudyLoadError, match="multi-frame DICOM \\(3 frames"):
        load_image(dcm.save(ds, tmp_path / "mf.dcm"))


def test_rle_compressed_decodes(dcm, tmp_path: Path) -> None:
    from pydicom.uid import RLELossless

    values = np.arange(12, dtype=np.uint16).reshape(3, 4) * 300
    ds = dcm.dataset(values, RescaleSlope=1, RescaleIntercept=-5)
    ds.compress(RLELossless)
    image = load_image(dcm.save(ds, tmp_path / "rle.dcm"))
    assert image.pixels.tolist() == (values.astype(np.float32) - 5).tolist()


def test_missing_codec_names_the_extra(dcm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydicom.pixels.decoders.base import Decoder
    from pydicom.uid import RLELossless

    ds = dcm.dataset(np.ones((3, 4), dtype=np.uint16))
    ds.compress(RLELossless)
    path = dcm.save(ds, tmp_path / "rle.dcm")
    monkeypatch.setattr(Decoder, "is_available", property(lambda self: False))
    with pytest.raises(MissingExtraError) as info:
        load_image(path)
    assert info.value.extra == "codecs" and "RLE Lossless pixel data in" in str(info.value)
    assert str(path) in str(info.value)
