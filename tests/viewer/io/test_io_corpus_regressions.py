"""Each disagreement with pydicom found by the corpus cross-check (``test_io_corpus.py``), rebuilt by hand
as a small file with hand-computed values, so the fix stays tested without the corpus packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viewer.errors import StudyLoadError
from viewer.io import dicom_series, load_image
from viewer.io.dicom_scan import scan
from viewer.io.source import Source


def test_group_length_before_pixel_data_is_read_past(dcm, tmp_path: Path) -> None:
    """pydicom-data's 693_UNCR.dcm (a real 512×512 CT slice) has (7FE0,0000) just before (7FE0,0010);
    the header scan stopped at the group length and the slice was refused as "no pixel data"."""
    ds = dcm.ct_slice(np.array([[1024, 1034], [1064, 2024]]), (0.0, 0.0, 0.0))
    written = dcm.save(ds, tmp_path / "plain.dcm").read_bytes()  # pydicom drops group lengths on write
    at = written.index(b"\xe0\x7f\x10\x00OW")
    # (7FE0,0000) UL, length 4, value 20 = the pixel element: 12 header bytes + 2×2×2 bytes of pixels
    group_length = b"\xe0\x7f\x00\x00UL\x04\x00" + (20).to_bytes(4, "little")
    path = tmp_path / "ct.dcm"
    path.write_bytes(written[:at] + group_length + written[at:])
    data = path.read_bytes()
    found = scan(data, [])
    assert found is not None and found.pixel_offset == at + 12  # past the group length, at the pixels
    image = load_image(path)
    assert image.pixels.reshape(2, 2).tolist() == [[0.0, 10.0], [40.0, 1000.0]]  # stored − 1024


def test_scan_stops_past_group_7fe0_when_there_is_no_pixel_data(dcm, tmp_path: Path) -> None:
    ds = dcm.dataset(None)
    ds.add_new(0xFFFCFFFC, "OB", b"\x00" * 4)  # trailing padding, after where pixel data would be
    data = dcm.save(ds, tmp_path / "nopix.dcm").read_bytes()
    found = scan(data, [])
    assert found is not None and data[found.pixel_offset : found.pixel_offset + 4] == b"\xfc\xff\xfc\xff"
    assert not dicom_series.read_slice(Source.from_path(tmp_path / "nopix.dcm")).has_pixels


def test_deflated_file_is_seen_to_hold_pixels(dcm, tmp_path: Path) -> None:
    """pydicom's image_dfl.dcm (Deflated Explicit VR Little Endian) was refused as "no pixel data": the
    stop offset of pydicom's header parse points into its own inflated buffer, not into the file."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds = dcm.dataset(np.array([[0, 1], [2, 300]], dtype=np.uint16), modality="OT")
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = dcm.save(ds, tmp_path / "dfl.dcm")
    assert path.read_bytes().count(b"\xe0\x7f\x10\x00") == 0  # the pixel tag is inside the deflate stream
    s = dicom_series.read_slice(Source.from_path(path))
    assert s.has_pixels and s.syntax == DeflatedExplicitVRLittleEndian
    assert load_image(path).pixels.tolist() == [[0.0, 1.0], [2.0, 300.0]]


def _palette(dcm, indices: np.ndarray, red: list[int], green: list[int], blue: list[int], bits: int):
    ds = dcm.dataset(indices.astype(np.uint8), modality="US", photometric="PALETTE COLOR")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = indices.astype(np.uint8).tobytes()
    for colour, table in (("Red", red), ("Green", green), ("Blue", blue)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [len(table), 0, bits])
        dtype = "<u2" if bits == 16 else "<u1"
        data = np.asarray(table, dtype=dtype).tobytes()
        ds.add_new(f"{colour}PaletteColorLookupTableData", "OW", data + (b"\x00" if len(data) % 2 else b""))
    return ds


def test_palette_colour_goes_through_its_lookup_table_then_luma(dcm, tmp_path: Path) -> None:
    """pydicom-data's OBXXXX1A.dcm, gdcm-US-ALOKA-16.dcm and pydicom's examples_palette.dcm were refused
    ("PALETTE COLOR images are not supported") though pydicom reads them."""
    # index 0 → black, 1 → pure red (255,0,0), 2 → pure green, 3 → white; 16-bit table entries
    red, green, blue = [0, 65535, 0, 65535], [0, 0, 65535, 65535], [0, 0, 0, 65535]
    ds = _palette(dcm, np.array([[0, 1], [2, 3]]), red, green, blue, bits=16)
    image = load_image(dcm.save(ds, tmp_path / "pal.dcm"))
    # luma = 0.299 R + 0.587 G + 0.114 B: 0; 0.299 × 65535 = 19594.965; 0.587 × 65535 = 38469.045; 65535
    np.testing.assert_allclose(image.pixels, [[0.0, 19594.965], [38469.045, 65535.0]], rtol=1e-6)
    assert image.photometric == "MONOCHROME2"
    assert any("PALETTE COLOR image: colour lookup table applied" in w for w in image.warnings)


def test_palette_without_its_tables_is_refused_with_the_reason(dcm, tmp_path: Path) -> None:
    ds = dcm.dataset(np.array([[0, 1]], dtype=np.uint8), modality="US", photometric="PALETTE COLOR")
    path = dcm.save(ds, tmp_path / "nolut.dcm")
    with pytest.raises(StudyLoadError, match=r"nolut\.dcm: PALETTE COLOR image with an unusable colour"):
        load_image(path)


def test_direction_cosines_written_short_of_unit_length_do_not_scale_the_spacing(dcm, tmp_path: Path) -> None:
    """pydicom's dicomdirtests MR700 slices write IOP to 6 digits (|row| ≈ 1.00001): the affine scaled
    PixelSpacing 0.390625 to 0.390633 and the slice extent 1.2 to 1.200038."""
    iop = (1.00002, 0, 0, 0, 0.99997, 0)
    ds = dcm.ct_slice(np.full((2, 2), 1024), (0.0, 0.0, 0.0), orientation=iop, spacing=(0.390625, 0.5))
    ds.SliceThickness = 1.2
    image = load_image(dcm.save(ds, tmp_path / "mr.dcm"))
    assert image.spacing_mm == (1.2, 0.390625, 0.5)


@pytest.mark.filterwarnings("ignore:End of file reached before delimiter:UserWarning")
def test_pixel_data_cut_short_names_the_truncation(dcm, tmp_path: Path) -> None:
    """pydicom-data's emri_small_jpeg_2k_lossless_too_short.dcm: pydicom's full parse returns an empty
    dataset (and only warns), which we reported as a "0×0 image"; it is a file cut short."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import RLELossless

    ds = dcm.dataset(np.zeros((4, 4), dtype=np.uint16), modality="OT")
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.PixelData = encapsulate([b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    data = dcm.save(ds, tmp_path / "whole.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:-40])  # loses the last fragment bytes and the sequence delimiter
    with pytest.raises(StudyLoadError, match=r"cut\.dcm: truncated or corrupt DICOM: the pixel data element"):
        load_image(cut)


def test_extended_offset_table_before_pixel_data_is_read_past(dcm, tmp_path: Path) -> None:
    """(7FE0,0001/0002) Extended Offset Table (Lengths) precede encapsulated pixel data in group 7FE0 —
    the same early stop as the group length, never met by the corpus but written by modern encoders."""
    from pydicom.encaps import encapsulate_extended, generate_frames
    from pydicom.pixels import compress
    from pydicom.uid import RLELossless

    ds = dcm.dataset(np.array([[0, 1, 2], [300, 4000, 65535]], dtype=np.uint16), modality="OT")
    compress(ds, RLELossless, encoding_plugin="pydicom")
    frames = list(generate_frames(ds.PixelData, number_of_frames=1))  # re-wrapped with an extended table
    ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = encapsulate_extended(frames)
    path = dcm.save(ds, tmp_path / "eot.dcm")
    data = path.read_bytes()
    found = scan(data, [])
    assert found is not None and data[found.pixel_offset : found.pixel_offset + 4] == b"\xe0\x7f\x10\x00"
    assert data.index(b"\xe0\x7f\x01\x00") < found.pixel_offset  # the table came first and was skipped
    assert load_image(path).pixels.tolist() == [[0.0, 1.0, 2.0], [300.0, 4000.0, 65535.0]]


def test_a_folder_holding_one_lateral_radiograph_reads_like_the_file() -> None:
    """pydicom's dicomdirtests/77654033/CR1 holds one lateral CR: the file loaded, its folder was refused
    ("1 radiographs found …; a CXR study takes one frontal")."""
    from pydicom.data import get_testdata_file

    path = Path(get_testdata_file("dicomdirtests/77654033/CR1/6154", download=False))
    from_folder, from_file = load_image(path.parent), load_image(path)
    assert from_folder.view == "LATERAL" and from_folder.shape == (16, 16)
    np.testing.assert_array_equal(from_folder.pixels, from_file.pixels)
