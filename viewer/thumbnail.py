"""Small worklist thumbnails: a radiograph with its default window, or a CT's middle axial slice."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from viewer.planes import extract_plane
from viewer.png import encode_png_bytes
from viewer.records import Image
from viewer.windowing import display_window


def thumbnail_array(image: Image, max_side: int = 128) -> npt.NDArray[np.uint8]:
    """uint8 ``[row, col]`` thumbnail at most ``max_side`` pixels per side, square pixels kept.

    CT: the middle axial slice in the file's window or soft tissue; radiographs: the file's window, or
    its VOI LUT, or a 1–99 percentile auto-window; MONOCHROME1 shown inverted as on a PACS.

    Raises:
        ValueError: When ``max_side`` < 1.
    """
    from PIL import Image as PILImage

    if max_side < 1:
        raise ValueError(f"thumbnail max_side={max_side} must be ≥ 1")
    cut = extract_plane(image, "axial")
    gray = display_window(image, None, pixels=cut.pixels)
    picture = PILImage.fromarray(gray)
    picture.thumbnail((max_side, max_side), PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(picture, dtype=np.uint8)


def thumbnail_png(image: Image, max_side: int = 128) -> bytes:
    """PNG bytes of ``thumbnail_array(image, max_side)`` (a few kB)."""
    return encode_png_bytes(thumbnail_array(image, max_side), level=6)
