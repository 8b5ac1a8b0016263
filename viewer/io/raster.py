"""PNG and JPEG images (8/16-bit, grey or colour) read as chest radiographs of unknown spacing.

Colour is collapsed to grey with ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B) and a warning; alpha is
dropped. Images over :data:`MAX_PIXELS` are refused before decoding (Pillow's decompression-bomb guard
is also turned into an error).
"""

from __future__ import annotations

import hashlib
import io
import warnings as pywarnings

import numpy as np

from viewer.errors import StudyLoadError
from viewer.io.colour import LUMA_NOTE, luma
from viewer.io.source import Source
from viewer.records import Image

MAX_PIXELS = 16384 * 16384
"""Largest image accepted (width × height); larger is refused before decoding."""


def _decode(source: Source, data: bytes) -> tuple[np.ndarray, str, list[str]]:
    from PIL import Image as PILImage

    notes: list[str] = []
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("error", PILImage.DecompressionBombWarning)
            im = PILImage.open(io.BytesIO(data))
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise StudyLoadError(
                    source.name,
                    f"image of {width}×{height} pixels exceeds the "
                    f"{MAX_PIXELS} pixel cap; refusing before decoding",
                )
            im.load()
    except StudyLoadError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise StudyLoadError(
            source.name, f"image too large, refused as a decompression bomb ({exc})"
        ) from exc
    except Exception as exc:  # Pillow raises OSError/SyntaxError/ValueError on garbled files
        raise StudyLoadError(source.name, f"cannot decode {type(exc).__name__}: {exc}") from exc
    mode = im.mode
    picture: PILImage.Image = im
    if mode in {"P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"}:
        picture = im.convert("RGBA" if mode == "PA" else "RGB") if mode != "1" else im.convert("L")
    arr = np.asarray(picture)
    if arr.ndim == 3:
        rgb = arr[..., :3]
        if arr.shape[-1] in (2, 4):
            notes.append("alpha channel dropped")
        if arr.shape[-1] == 2:
            return arr[..., 0].astype(np.float32), mode, notes
        notes.append(f"{mode} image {LUMA_NOTE}")
        return luma(rgb), mode, notes
    return arr.astype(np.float32), mode, notes


def read_raster(source: Source) -> Image:
    """Read a PNG/JPEG as a 2D :class:`Image` (modality ``OT``, spacing unknown).

    8-bit images get the identity window (center 128, width 256); 16-bit ones none (auto-windowed later).
    """
    data = source.read_bytes()
    pixels, mode, notes = _decode(source, data)
    notes.append("pixel spacing unknown (PNG/JPEG): no mm measurements")
    eight_bit = mode in {"L", "LA", "RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "1"}
    kind = "PNG" if data.startswith(b"\x89PNG") else "JPEG"
    return Image(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        spacing_mm=None,
        affine=np.eye(4),
        modality="OT",
        photometric="MONOCHROME2",
        default_window=(128.0, 256.0) if eight_bit else None,
        source=source.name,
        sha256=hashlib.sha256(data).hexdigest(),
        meta={"Format": kind, "Mode": mode},
        warnings=tuple(notes),
    )
