"""A fast lossless PNG encoder for display (8-bit gray or RGB), numpy + zlib only.

Pillow's encoder tries every PNG row filter (adaptive filtering), which costs more than the
compression itself at zlib level 1; for display we use the "Up" filter for every row (one vectorised
subtraction) and zlib level 1 with ``Z_FILTERED``: about 35–40 % faster than Pillow at
``compress_level=1`` for the same size on CT slices. Output is a standard PNG (round-trip tested
against Pillow's decoder).
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import numpy.typing as npt

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 3: 2}  # channels → PNG colour type (gray, truecolour)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png_bytes(pixels: npt.NDArray[np.uint8], level: int = 1) -> bytes:
    """PNG bytes of a uint8 ``[row, col]`` (gray) or ``[row, col, 3]`` (RGB) array.

    Args:
        pixels: The image.
        level: zlib level 0–9 (1: fast, what the viewer uses).

    Raises:
        ValueError: For another dtype, shape or an empty image.
    """
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"PNG needs uint8 [row, col] or [row, col, 3], got {pixels.dtype} {pixels.shape}")
    height, width = pixels.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"cannot encode an empty image of shape {pixels.shape}")
    channels = 1 if pixels.ndim == 2 else 3
    rows = np.ascontiguousarray(pixels).reshape(height, width * channels)
    filtered = np.empty((height, width * channels + 1), dtype=np.uint8)
    filtered[:, 0] = 2  # filter type "Up": each byte minus the byte above, modulo 256
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    compressor = zlib.compressobj(level, zlib.DEFLATED, 15, 9, zlib.Z_FILTERED)
    data = compressor.compress(filtered.tobytes()) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def png_data_uri(pixels: npt.NDArray[np.uint8], level: int = 1) -> str:
    """``data:image/png;base64,…`` of ``encode_png_bytes(pixels, level)``."""
    return "data:image/png;base64," + base64.b64encode(encode_png_bytes(pixels, level)).decode("ascii")
