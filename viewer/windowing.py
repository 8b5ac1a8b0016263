"""VOI windowing to 8-bit display values (DICOM PS3.3 C.11.2), and MONOCHROME1 inversion, once.

Order of operations (as in PS3.3 C.11 and pydicom): the modality LUT (rescale slope/intercept) is applied
by the readers, so ``Image.pixels`` are already in modality units; the VOI transform (a window or a VOI
LUT table) comes next and maps to 0–255 here; the presentation inversion for ``MONOCHROME1`` is applied
last, in ``display_window`` only, so no other module inverts anything.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from viewer.presets import DEFAULT_CT_PRESET, Window, check_window, get_preset
from viewer.records import Image

U8Array = npt.NDArray[np.uint8]
_Y_MAX = 255.0

_AUTO_MAX_SAMPLES = 1 << 20


def _linear_coefficients(center: float, width: float, function: str) -> tuple[float, float]:
    """``(scale, offset)`` with ``y = clip(scale * x + offset, 0, 255)``, equal to the piecewise
    definitions of PS3.3 C.11.2.1.2 (the linear part reaches 0 and 255 exactly at the breakpoints)."""
    if function == "LINEAR":
        # y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255; callers handle w == 1 (a step) separately.
        return _Y_MAX / (width - 1.0), (0.5 - (center - 0.5) / (width - 1.0)) * _Y_MAX
    # LINEAR_EXACT: y = ((x - c) / w + 0.5) * 255
    scale = _Y_MAX / width
    return scale, (0.5 - center / width) * _Y_MAX


def _step(pixels: npt.NDArray[np.floating], center: float) -> U8Array:
    """LINEAR with width 1 is a hard threshold: x ≤ c − 0.5 → 0, else 255."""
    return np.where(pixels > center - 0.5, np.uint8(255), np.uint8(0)).astype(np.uint8)


def apply_window(pixels: npt.ArrayLike, center: float, width: float, function: str = "LINEAR", *,
                 invert: bool = False) -> U8Array:
    """Map modality values to 0–255 with a VOI window (DICOM PS3.3 C.11.2.1.2).

    * ``LINEAR``: ``x ≤ c − 0.5 − (w − 1)/2 → 0``; ``x > c − 0.5 + (w − 1)/2 → 255``; otherwise
      ``((x − (c − 0.5)) / (w − 1) + 0.5) · 255``. Needs ``w ≥ 1``.
    * ``LINEAR_EXACT``: ``x ≤ c − w/2 → 0``; ``x > c + w/2 → 255``; otherwise ``((x − c)/w + 0.5) · 255``.
    * ``SIGMOID``: ``255 / (1 + exp(−4 (x − c)/w))``.

    Results are rounded to the nearest integer (halves up). The modality LUT must already be applied.

    Args:
        pixels: Values in modality units (any shape; float32 is the fast path).
        center: Window center.
        width: Window width (> 0; ≥ 1 for ``LINEAR``).
        function: ``LINEAR``, ``LINEAR_EXACT`` or ``SIGMOID``.
        invert: Return ``255 − y`` (presentation inversion, e.g. for MONOCHROME1).

    Returns:
        uint8 array of the same shape.

    Raises:
        ValueError: Unknown function or a width ≤ 0 (< 1 for ``LINEAR``), naming the values.
    """
    check_window(center, width, function)
    x = np.asarray(pixels)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64 if x.dtype.itemsize > 2 else np.float32)
    if function == "SIGMOID":
        y = _Y_MAX / (1.0 + np.exp(-4.0 * (x.astype(np.float64) - center) / width)) + 0.5
        out = y.astype(np.uint8)
    elif function == "LINEAR" and width == 1.0:
        out = _step(x, center)
    else:
        scale, offset = _linear_coefficients(center, width, function)
        y = np.multiply(x, x.dtype.type(scale))
        y += x.dtype.type(offset + 0.5)
        np.clip(y, 0.0, _Y_MAX + 0.5 - 1e-3, out=y)
        out = y.astype(np.uint8)
    if invert:
        np.subtract(np.uint8(255), out, out=out)
    return out


def apply_voi_lut(pixels: npt.ArrayLike, lut: tuple[int, int, tuple[int, ...]], *,
                  invert: bool = False) -> U8Array:
    """Map modality values through a VOI LUT table (DICOM PS3.3 C.11.2.1.1) to 0–255.

    Values below the first mapped input take the first entry, values above the last take the last
    entry. The table's output range (min–max of its entries) is stretched to 0–255: 16-bit descriptors
    often hold 12-bit entries, and scaling by the descriptor's bit depth would show them nearly black.

    Args:
        pixels: Values in modality units.
        lut: ``(first_mapped_value, bits_per_entry, entries)`` as kept by the readers in ``Image.voi_lut``.
        invert: Return ``255 − y``.

    Raises:
        ValueError: An empty table.
    """
    first, _bits, entries = lut
    table = np.asarray(entries, dtype=np.float64)
    if table.size == 0:
        raise ValueError("VOI LUT has no entries; drop Image.voi_lut or re-read the file")
    low, high = float(table.min()), float(table.max())
    scaled = np.rint((table - low) * (_Y_MAX / (high - low)) if high > low else np.zeros_like(table))
    lut8 = scaled.astype(np.uint8)
    index = np.clip(np.rint(np.asarray(pixels, dtype=np.float64)) - first, 0, table.size - 1).astype(np.intp)
    out: U8Array = lut8[index]
    if invert:
        np.subtract(np.uint8(255), out, out=out)
    return out


def auto_window(pixels: npt.ArrayLike, low_pct: float = 1.0, high_pct: float = 99.0) -> Window:
    """A LINEAR window spanning the ``low_pct``–``high_pct`` percentiles (for files without a window).

    Large images are subsampled on a regular grid (at most ~1 M values) so this stays fast.

    Raises:
        ValueError: When the image has no finite values.
    """
    x = np.asarray(pixels).ravel()
    step = max(1, x.size // _AUTO_MAX_SAMPLES)
    sample = x[::step]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        raise ValueError("cannot auto-window an image with no finite pixel values")
    low, high = (float(v) for v in np.percentile(sample, [low_pct, high_pct]))
    width = max(high - low, 1.0)
    return Window(center=(low + high) / 2.0, width=width, function="LINEAR", name="auto")


def window_for(image: Image, preset: str | None = None) -> Window:
    """The window to show an image with.

    A named preset wins; otherwise the file's default window (with its VOI function); otherwise
    soft tissue for CT and a 1–99 percentile auto-window for everything else.

    Raises:
        ValueError: Unknown preset name ("did you mean …").
    """
    if preset is not None:
        return get_preset(preset).window()
    if image.default_window is not None:
        center, width = image.default_window
        function = image.voi_function if image.voi_function in ("LINEAR_EXACT", "SIGMOID") else "LINEAR"
        if function == "LINEAR" and width < 1:
            function = "LINEAR_EXACT" if width > 0 else function
        return Window(center, width, function, "file")
    if image.modality == "CT":
        return get_preset(DEFAULT_CT_PRESET).window()
    return auto_window(image.pixels)


def display_window(image: Image, window: Window | None = None,
                   pixels: npt.ArrayLike | None = None) -> U8Array:
    """Display values for an image (or a slice of it): VOI transform, then MONOCHROME1 inversion.

    This is the only place that inverts MONOCHROME1 images.

    Args:
        image: The image (supplies photometric interpretation, default window and VOI LUT).
        window: The window to use; ``None`` uses the file's VOI LUT table when it has one, else
            ``window_for(image)``.
        pixels: The values to map (e.g. one plane); defaults to ``image.pixels``.
    """
    values = image.pixels if pixels is None else pixels
    invert = image.photometric.upper() == "MONOCHROME1"
    if window is None and image.voi_lut is not None:
        return apply_voi_lut(values, image.voi_lut, invert=invert)
    chosen = window if window is not None else window_for(image)
    return apply_window(values, chosen.center, chosen.width, chosen.function, invert=invert)
