"""Content sniffing: what a file is, from its first bytes (not its name).

Each predicate takes the first :data:`HEAD_BYTES` bytes of a file. Extensions are only a tie-breaker;
a ``.dcm`` that is really a PNG is read as a PNG, and a ``.dcm`` that is nothing is refused.
"""

from __future__ import annotations

import gzip
import struct
import zlib

HEAD_BYTES = 1024
"""How many leading bytes the readers' ``can_read`` get to look at."""

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_GZIP = b"\x1f\x8b"
_NIFTI1_MAGIC = (b"n+1\x00", b"ni1\x00")
_NIFTI2_MAGIC = (b"n+2\x00", b"ni2\x00")


def is_dicom(head: bytes) -> bool:
    """True for Part 10 files (``DICM`` at byte 128) or preamble-less files starting with a group-8 tag."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    # Raw (non-Part-10) datasets written by old modalities start with (0008,xxxx) little endian.
    return len(head) >= 8 and head[:2] == b"\x08\x00" and head[3:4] == b"\x00"


def is_png(head: bytes) -> bool:
    """True for a PNG signature."""
    return head.startswith(_PNG)


def is_jpeg(head: bytes) -> bool:
    """True for a JPEG (JFIF/EXIF) start-of-image marker."""
    return head.startswith(_JPEG)


def is_zip(head: bytes) -> bool:
    """True for a zip local-file header (or an empty archive's end record)."""
    return head.startswith(_ZIP)


def is_gzip(head: bytes) -> bool:
    """True for a gzip member header."""
    return head.startswith(_GZIP)


def is_nifti(head: bytes) -> bool:
    """True for a NIfTI-1/2 header, plain or gzip-compressed (the gzip head is inflated to check)."""
    raw = _gunzip_head(head) if is_gzip(head) else head
    if len(raw) >= 348 and raw[344:348] in _NIFTI1_MAGIC:
        return _sizeof_hdr(raw[:4]) == 348
    if len(raw) >= 8 and raw[4:8] in _NIFTI2_MAGIC:
        return _sizeof_hdr(raw[:4]) == 540
    return False


def _sizeof_hdr(four: bytes) -> int:
    little, big = int(struct.unpack("<i", four)[0]), int(struct.unpack(">i", four)[0])
    return little if little in (348, 540) else big


def _gunzip_head(head: bytes) -> bytes:
    """Inflate as much of a gzip stream as ``head`` holds (a truncated stream is fine here)."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
    except (zlib.error, gzip.BadGzipFile):
        return b""
