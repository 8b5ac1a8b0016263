"""Hand-built hostile files, each written into a folder and returned as a path."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.hostile.mutate import PYDICOM_TEST_FILES

CT_SMALL = PYDICOM_TEST_FILES / "CT_small.dcm"
MR_RLE = PYDICOM_TEST_FILES / "MR_small_RLE.dcm"


def _element(group: int, elem: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    """One explicit-VR little-endian element (``length`` overrides the true length)."""
    n = len(value) if length is None else length
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"OF"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, n) + value
    return struct.pack("<HH2sH", group, elem, vr, n) + value


def _file_meta() -> bytes:
    ts = b"1.2.840.10008.1.2.1\x00"
    body = _element(0x0002, 0x0001, b"OB", b"\x00\x01") + _element(0x0002, 0x0010, b"UI", ts)
    return b"\x00" * 128 + b"DICM" + _element(0x0002, 0x0000, b"UL", struct.pack("<I", len(body))) + body


def _image_header(rows: int, cols: int, frames: bytes = b"1 ") -> bytes:
    return (_element(0x0008, 0x0060, b"CS", b"CT")
            + _element(0x0028, 0x0002, b"US", struct.pack("<H", 1))
            + _element(0x0028, 0x0004, b"CS", b"MONOCHROME2 ")
            + _element(0x0028, 0x0008, b"IS", frames)
            + _element(0x0028, 0x0010, b"US", struct.pack("<H", rows))
            + _element(0x0028, 0x0011, b"US", struct.pack("<H", cols))
            + _element(0x0028, 0x0100, b"US", struct.pack("<H", 16))
            + _element(0x0028, 0x0101, b"US", struct.pack("<H", 16))
            + _element(0x0028, 0x0102, b"US", struct.pack("<H", 15))
            + _element(0x0028, 0x0103, b"US", struct.pack("<H", 0)))


def deep_sequence(out: Path, depth: int = 20_000) -> Path:
    """Sequences nested ``depth`` deep (undefined lengths), then a tiny image."""
    item, item_end, seq_end = b"\xfe\xff\x00\xe0\xff\xff\xff\xff", b"\xfe\xff\x0d\xe0\x00\x00\x00\x00", \
        b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    seq = struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, 0xFFFFFFFF)
    nested = (seq + item) * depth + (item_end + seq_end) * depth
    pixels = _element(0x7FE0, 0x0010, b"OW", b"\x00\x00" * 16)
    path = out / "deep-sequence.dcm"
    path.write_bytes(_file_meta() + nested + _image_header(4, 4) + pixels)
    return path


def wrong_vr(out: Path) -> Path:
    """Rows declared as a 7-byte DS string, Columns as a sequence."""
    body = (_element(0x0008, 0x0060, b"CS", b"CT") + _element(0x0028, 0x0010, b"DS", b"1e9999 ")
            + _element(0x0028, 0x0011, b"SQ", b"\x00" * 8) + _element(0x7FE0, 0x0010, b"OW", b"\x00" * 32))
    path = out / "wrong-vr.dcm"
    path.write_bytes(_file_meta() + body)
    return path


def huge_length(out: Path) -> Path:
    """Pixel Data declaring 0xFFFFFFF0 bytes in a tiny file."""
    path = out / "huge-length.dcm"
    path.write_bytes(_file_meta() + _image_header(4, 4) + _element(0x7FE0, 0x0010, b"OW", b"\x00" * 32,
                                                                     length=0xFFFFFFF0))
    return path


def rows_columns_bomb(out: Path) -> Path:
    """65535 × 65535 × 9999 frames declared, 32 bytes of pixels."""
    path = out / "rows-columns-bomb.dcm"
    path.write_bytes(_file_meta() + _image_header(65535, 65535, b"9999") + _element(0x7FE0, 0x0010, b"OW",
                                                                                      b"\x00" * 32))
    return path


def rle_inflates(out: Path) -> Path:
    """pydicom's RLE MR with Rows/Columns shrunk: the frames decode to more than declared."""
    import pydicom

    ds = pydicom.dcmread(MR_RLE)
    ds.Rows, ds.Columns = 8, 8
    path = out / "rle-inflates.dcm"
    ds.save_as(path)
    return path


def polyglot_zip(out: Path) -> Path:
    """A valid DICOM with a ZIP appended (both readers accept the bytes); the zip holds a text file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not an image")
    path = out / "polyglot.zip"
    path.write_bytes(CT_SMALL.read_bytes() + buf.getvalue())
    return path


def polyglot_png(out: Path) -> Path:
    """A DICOM whose 128-byte preamble starts with a PNG signature and IHDR."""
    data = bytearray(CT_SMALL.read_bytes())
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
    data[: len(head)] = head
    path = out / "polyglot.png"
    path.write_bytes(bytes(data))
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(out: Path, side: int = 20_000) -> Path:
    """A greyscale PNG of side × side zeros (400 MB decoded) compressed to about 400 kB.

    Each 64-row block is deflated after a full flush, so its compressed bytes are identical and are
    repeated instead of recompressed.
    """
    rows = 64
    block = (b"\x00" * (side + 1)) * rows
    comp = zlib.compressobj(9)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    count = side // rows
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(block, adler)
    idat = first + again * (count - 1) + b"\x03\x00" + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", side, count * rows, 8, 0, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
           + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))
    path = out / "png-bomb.png"
    path.write_bytes(png)
    return path


def zip_bomb(out: Path) -> Path:
    """A zip whose single member inflates 256 MiB of zeros (ratio about 1000:1)."""
    path = out / "zip-bomb.zip"
    chunk = b"\x00" * (1 << 24)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("ct/slice.dcm", "w", force_zip64=True) as fh:
        for _ in range(16):
            fh.write(chunk)
    return path


def zip_lying_size(out: Path) -> Path:
    """A zip whose member's declared size (central directory) is 10 bytes but which inflates to 64 MiB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("slice.dcm", b"\x00" * (64 << 20))
    data = bytearray(buf.getvalue())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24: cd + 28] = struct.pack("<I", 10)  # uncompressed size in the central directory
    path = out / "zip-lying.zip"
    path.write_bytes(bytes(data))
    return path


def zip_slip(out: Path) -> Path:
    """A zip with a valid DICOM under ``../../escape.dcm`` and ``/etc/escape.dcm``."""
    path = out / "zip-slip.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../../escape.dcm", CT_SMALL.read_bytes())
        zf.writestr("/etc/escape.dcm", CT_SMALL.read_bytes())
    return path


def _nifti(out: Path, name: str, data: np.ndarray, affine: np.ndarray) -> Path:
    import nibabel as nib

    path = out / name
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def nifti_nan_inf(out: Path) -> Path:
    """A float volume of NaN and ±inf."""
    data = np.full((8, 8, 8), np.nan, np.float32)
    data[::2] = np.inf
    data[1::4] = -np.inf
    return _nifti(out, "nan-inf.nii.gz", data, np.diag([1.0, 1.0, 1.0, 1.0]))


def nifti_singular_affine(out: Path) -> Path:
    """sform and qform of zeros with pixdim 0 (a singular affine), patched into the header bytes."""
    import nibabel as nib

    path = out / "singular.nii"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.int16), np.eye(4)), str(path))
    raw = bytearray(path.read_bytes())
    raw[76:108] = struct.pack("<8f", 1, 0, 0, 0, 0, 0, 0, 0)  # pixdim
    raw[252:256] = struct.pack("<hh", 0, 2)  # qform_code 0, sform_code 2 (aligned)
    raw[280:328] = b"\x00" * 48  # srow_x, srow_y, srow_z
    path.write_bytes(bytes(raw))
    return path


def nifti_huge_dims(out: Path) -> Path:
    """A header declaring 32767³ int16 voxels with 512 bytes of data."""
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_shape((8, 8, 4))
    header.set_data_dtype(np.int16)
    raw = bytearray(header.binaryblock)
    raw[40:56] = struct.pack("<8h", 3, 32767, 32767, 32767, 1, 1, 1, 1)  # dim[0..7]
    path = out / "huge-dims.nii"
    path.write_bytes(bytes(raw) + b"\x00" * 4 + b"\x00" * 512)
    return path


def control_char_name(out: Path) -> Path:
    """A corrupt DICOM named with a newline, an ANSI escape and a tab."""
    path = out / "evil\n\x1b[31mred\tname.dcm"
    path.write_bytes(CT_SMALL.read_bytes()[:700])
    return path


BUILDERS: dict[str, Callable[[Path], Path]] = {f.__name__: f for f in (
    deep_sequence, wrong_vr, huge_length, rows_columns_bomb, rle_inflates, polyglot_zip, polyglot_png,
    png_bomb, zip_bomb, zip_lying_size, zip_slip, nifti_nan_inf, nifti_singular_affine, nifti_huge_dims,
    control_char_name)}
