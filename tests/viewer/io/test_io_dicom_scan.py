"""The fast header scanner agrees with pydicom on real files, and declines what it does not handle."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from viewer.io import dicom_series, load_image
from viewer.io.dicom_scan import scan
from viewer.io.source import Source

_TAGS = [0x0020000E, 0x00280010, 0x00280011, 0x00200032, 0x00200037, 0x00281052, 0x00280100, 0x00080060]


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "rtplan.dcm",
        "nested_priv_SQ.dcm",
        "UN_sequence.dcm",
        "JPEG2000.dcm",
        "reportsi.dcm",
        "liver_1frame.dcm",
        "MR_small_RLE.dcm",
    ],
)
def test_scan_matches_pydicom(name: str) -> None:
    data = Path(get_testdata_file(name, download=False)).read_bytes()
    result = scan(data, _TAGS)
    assert result is not None, name
    buffer = io.BytesIO(data)
    ds = pydicom.dcmread(buffer, stop_before_pixels=True)
    assert result.pixel_offset == buffer.tell() or result.pixel_offset == len(data)
    assert result.syntax == ds.file_meta.TransferSyntaxUID
    for tag in _TAGS:
        elem = ds.get_item(tag)
        assert result.values.get(tag) == (None if elem is None else elem.value), (name, hex(tag))


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "image_dfl.dcm", "no_meta.dcm"])
def test_scan_declines_big_endian_deflate_and_raw(name: str) -> None:
    assert scan(Path(get_testdata_file(name, download=False)).read_bytes(), _TAGS) is None


def test_truncated_pixel_data_of_a_real_file_refused() -> None:
    from viewer.errors import StudyLoadError

    with pytest.raises(StudyLoadError, match=r"MR_truncated\.dcm: cannot decode pixel data"):
        load_image(get_testdata_file("MR_truncated.dcm", download=False))


def test_big_endian_and_implicit_files_load_like_the_original() -> None:
    reference = load_image(get_testdata_file("MR_small.dcm", download=False)).pixels
    for name in ("MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm"):
        np.testing.assert_array_equal(load_image(get_testdata_file(name, download=False)).pixels, reference)


def test_header_longer_than_the_head_chunk_is_reread(dcm, tmp_path: Path) -> None:
    slices = []
    for z in (0.0, 2.0, 4.0):
        ds = dcm.ct_slice(np.full((4, 4), 1100), (0.0, 0.0, z))
        ds.add_new(0x00090010, "LO", "RADREVIEW TEST")
        ds.add_new(0x00091001, "UT", "x" * (dicom_series.HEAD_CHUNK + 1000))  # pushes pixels past the chunk
        slices.append(ds)
    dcm.write_series(tmp_path / "long", slices)
    image = load_image(tmp_path / "long")
    assert image.shape == (3, 4, 4) and float(image.pixels.max()) == 76.0
    path = next((tmp_path / "long").iterdir())
    head = Source.from_path(path).head(dicom_series.HEAD_CHUNK)
    assert dicom_series.read_slice(Source.from_path(path), head).complete


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm", "MR_small_implicit.dcm"])
def test_scan_never_raises_on_truncated_or_flipped_bytes(name: str) -> None:
    data = Path(get_testdata_file(name, download=False)).read_bytes()
    rng = np.random.default_rng(0)
    for cut in rng.integers(0, len(data), 40):
        scan(data[: int(cut)], _TAGS)
    for pos in rng.integers(132, min(len(data), 3000), 40):
        mutated = bytearray(data)
        mutated[int(pos)] ^= 0xFF
        scan(bytes(mutated), _TAGS)
