"""Preparing a frontal radiograph for ``cxr-classical``: field of view, bright=dense view, side, Otsu."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from viewer.records import Image

FloatArray = npt.NDArray[np.float64]

WORK_SIZE = 512
FLAT_STD = 0.02  # an edge row/column whose normalised values vary less than this is collimation/padding


def field_of_view(px: FloatArray) -> tuple[slice, slice]:
    """Rows and columns left after trimming flat bands (collimator shutters, padding) at each edge.

    A band is flat when its values vary less than :data:`FLAT_STD` of the image's 1st–99th
    percentile range. At most 40% of each axis is trimmed from each side, and at least a fifth of each
    axis (one row or column at the least) is always left, so a flat or tiny image keeps a field of view.
    """
    lo, hi = np.percentile(px, [1.0, 99.0])
    norm = (px - lo) / max(float(hi - lo), 1e-6)
    out = []
    for axis in (0, 1):
        flat = norm.std(axis=1 - axis) < FLAT_STD
        n = px.shape[axis]
        first = 0
        while first < 0.4 * n and flat[first]:
            first += 1
        last = n
        while last > 0.6 * n and flat[last - 1]:
            last -= 1
        keep = max(1, n // 5)
        out.append(slice(first, last) if last - first >= keep else slice(0, n))
    return out[0], out[1]


def dense_view(image: Image) -> FloatArray:
    """The image as float in [0, 1] with bright = dense, whatever the photometric interpretation.

    Normalised by the 1st/99th percentiles of the :func:`field_of_view`.
    """
    px = np.asarray(image.pixels, dtype=np.float64)
    rows, cols = field_of_view(px)
    lo, hi = np.percentile(px[rows, cols], [1.0, 99.0])
    norm = np.clip((px - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.asarray(1.0 - norm if image.photometric.upper() == "MONOCHROME1" else norm, dtype=np.float64)


def patient_right_on_image_right(image: Image) -> bool:
    """True when PatientOrientation says columns run towards the patient's right (a mirrored display).

    PatientOrientation's first value is the direction of increasing column (PS3.3 C.7.6.1.1.1); a
    standard PA/AP display has ``L`` there (patient right on image left), which is also assumed
    when the tag is absent.
    """
    value = str(image.meta.get("PatientOrientation", "")).split("\\")[0].strip().upper()
    return value.startswith("R")


def otsu(values: FloatArray, bins: int = 256) -> float:
    """Otsu's threshold of a set of values in [0, 1]."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    between = (m0[-1] * w0 - m0) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return float(centres[int(np.argmax(between))])


def work_factor(shape: tuple[int, ...], work_size: int = WORK_SIZE) -> int:
    """Integer subsampling factor that brings the long side to at most ``work_size``."""
    return max(1, int(np.ceil(max(shape) / work_size)))
