"""``cxr-classical``: lung fields, heart, mediastinum, diaphragm… on a frontal chest radiograph.

Intensity (Otsu thresholds on a smoothed, normalised image), morphology and geometry; no model.
The image is first mapped to "bright = dense" (MONOCHROME1 stored values are inverted) and
robustly normalised to [0, 1] by its 1st/99th percentiles. Patient right is assumed on image
left (standard PA/AP display). Every mask is labelled approximate.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from inference.protocols import RegionMask, SegmentationResult
from inference.segmenters._morphology import fill_holes_in_plane, keep_large_components
from viewer.records import Image

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

METHODS = {
    "body": "Otsu threshold of the smoothed image, largest component, holes filled",
    "lungs": "pixels darker than the body's Otsu threshold, two largest components, holes filled",
    "heart": "dense pixels between the lungs' medial edges in the lower half of the lung fields",
    "mediastinum": "dense corridor between the lungs above the heart",
    "airway": "midline band of the upper mediastinum (trachea position, not detected)",
    "diaphragm": "body below each lung base, 12% of the lung height deep",
    "pleura": "band within 2% of the image width outside the lung fields",
    "bones": "ridge (white top-hat) pixels crossing the lung fields (ribs)",
    "soft tissues": "body outside the thoracic cage (lung hull dilated)",
}


def dense_view(image: Image) -> FloatArray:
    """The image as float in [0, 1] with bright = dense, whatever the photometric interpretation."""
    px = np.asarray(image.pixels, dtype=np.float64)
    lo, hi = np.percentile(px, [1.0, 99.0])
    norm = np.clip((px - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.asarray(1.0 - norm if image.photometric.upper() == "MONOCHROME1" else norm, dtype=np.float64)


def otsu(values: FloatArray, bins: int = 256) -> float:
    """Otsu's threshold of a set of values in [0, 1]."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    between = (m0[-1] * w0 - m0) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return float(centres[int(np.argmax(between))])


class CXRClassicalSegmenter:
    """Classical frontal-CXR segmenter (see module docstring)."""

    name = "cxr-classical"

    def segment(self, image: Image) -> SegmentationResult:
        """Segment a frontal radiograph.

        Raises:
            ValueError: for a 3D volume (use ``threshold-ct``).
        """
        if image.pixels.ndim != 2:
            raise ValueError(f"cxr-classical needs a 2D radiograph, got shape {image.pixels.shape} "
                             f"from {image.source}; use 'threshold-ct' for CT volumes")
        view = ndimage.gaussian_filter(dense_view(image), sigma=max(1.0, image.shape[1] / 128))
        masks = segment_frontal(view)
        result = {r: RegionMask(r, m, approximate=True, method=METHODS[r], parts=parts)
                  for r, (m, parts) in masks.items() if m.any()}
        return SegmentationResult(self.name, result, method=(__doc__ or "").splitlines()[0],
                                  shape=image.shape)


def segment_frontal(view: FloatArray) -> dict[str, tuple[BoolArray, dict[str, BoolArray]]]:
    """All regions on a smoothed bright=dense view; region → (mask, parts)."""
    body = fill_holes_in_plane(keep_large_components(view > otsu(view.ravel()), max_count=1))
    right, left = _lungs(view, body)
    lungs = right | left
    if not right.any() or not left.any():
        return {"body": (body, {}), "lungs": (lungs, {"right": right, "left": left})}
    spans = _medial_spans(right, left)
    heart, mediastinum = _heart_and_mediastinum(spans, lungs, body)
    hull = _thorax(lungs)
    return {
        "body": (body, {}),
        "lungs": (lungs, {"right": right, "left": left}),
        "heart": (heart, {}),
        "mediastinum": (mediastinum, {}),
        "airway": (_airway(mediastinum, lungs), {}),
        "diaphragm": (_diaphragm(lungs, body), {}),
        "pleura": (_pleura(lungs, body, heart | mediastinum), {}),
        "bones": (_ribs(view, hull), {}),
        "soft tissues": (body & ~ndimage.binary_dilation(hull, iterations=max(1, body.shape[1] // 50)), {}),
    }


def _lungs(view: FloatArray, body: BoolArray) -> tuple[BoolArray, BoolArray]:
    """Right (image-left) and left (image-right) lung fields."""
    inner = ndimage.binary_erosion(body, iterations=max(1, body.shape[1] // 100))
    dark = (view < otsu(view[inner])) & inner
    dark = ndimage.binary_opening(dark, iterations=2)
    lungs = keep_large_components(dark, min_fraction=0.2, max_count=2)
    labels, n = ndimage.label(lungs)
    cols = np.arange(view.shape[1])
    if n == 2:
        centres = [np.argwhere(labels == c)[:, 1].mean() for c in (1, 2)]
        left_label = 1 + int(np.argmax(centres))
        left, right = labels == left_label, (labels > 0) & (labels != left_label)
    else:
        left = lungs & (cols[None, :] >= view.shape[1] / 2)
        right = lungs & ~left
    return fill_holes_in_plane(right), fill_holes_in_plane(left)


def _medial_spans(right: BoolArray, left: BoolArray) -> npt.NDArray[np.int64]:
    """Per row: ``[first, last)`` columns between the right lung's medial edge and the left's (or -1).

    Rows where either lung is narrower than 25% of its widest row (apices, costophrenic recesses)
    have no span: there the gap between the lungs is not bounded by the heart or mediastinum.
    """
    rows = right.shape[0]
    spans = np.full((rows, 2), -1, dtype=np.int64)
    w_right, w_left = right.sum(axis=1), left.sum(axis=1)
    for r in range(rows):
        if w_right[r] < 0.25 * w_right.max() or w_left[r] < 0.25 * w_left.max():
            continue
        rc, lc = np.flatnonzero(right[r]), np.flatnonzero(left[r])
        if rc.size and lc.size and rc[-1] < lc[0]:
            spans[r] = (rc[-1] + 1, lc[0])
    return spans


def _heart_and_mediastinum(spans: npt.NDArray[np.int64], lungs: BoolArray,
                           body: BoolArray) -> tuple[BoolArray, BoolArray]:
    rows = np.flatnonzero(lungs.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    split = top + int(0.5 * (bottom - top))  # heart in the lower half of the lung height
    corridor = np.zeros_like(lungs)
    for r in np.flatnonzero(spans[:, 0] >= 0):
        corridor[r, spans[r, 0] : spans[r, 1]] = True
    corridor &= body
    widths = corridor.sum(axis=1)
    upper = widths[top:split]
    narrow = int(np.median(upper[upper > 0])) if (upper > 0).any() else 0
    heart = corridor.copy()
    heart[:split] = False
    heart &= widths[:, None] > 1.3 * narrow  # the heart widens the corridor
    heart = keep_large_components(heart, max_count=1)
    if heart.any():  # close the silhouette up to its widest rows
        heart = fill_holes_in_plane(ndimage.binary_closing(heart, iterations=3))
    mediastinum = corridor & ~heart
    heart_rows = np.flatnonzero(heart.any(axis=1))
    if heart_rows.size:
        mediastinum[heart_rows[0] :] = False
    return heart, mediastinum


def _thorax(lungs: BoolArray) -> BoolArray:
    from inference.segmenters._morphology import convex_hull_2d

    return convex_hull_2d(lungs)


def _airway(mediastinum: BoolArray, lungs: BoolArray) -> BoolArray:
    out = np.zeros_like(mediastinum)
    rows = np.flatnonzero(mediastinum.any(axis=1))
    if not rows.size:
        return out
    cols = np.flatnonzero(mediastinum.any(axis=0))
    centre = int(np.median(np.argwhere(mediastinum)[:, 1]))
    half = max(2, (cols[-1] - cols[0]) // 6)
    stop = rows[0] + int(0.6 * (rows[-1] - rows[0]))
    out[rows[0] : stop, centre - half : centre + half + 1] = True
    return out & mediastinum


def _diaphragm(lungs: BoolArray, body: BoolArray) -> BoolArray:
    rows = np.flatnonzero(lungs.any(axis=1))
    depth = max(2, int(0.12 * (rows[-1] - rows[0])))
    out = np.zeros_like(lungs)
    for c in np.flatnonzero(lungs.any(axis=0)):
        base = int(np.flatnonzero(lungs[:, c])[-1]) + 1
        out[base : base + depth, c] = True
    return out & body & ~lungs


def _pleura(lungs: BoolArray, body: BoolArray, central: BoolArray) -> BoolArray:
    band = ndimage.binary_dilation(lungs, iterations=max(2, lungs.shape[1] // 50))
    return np.asarray(band & ~lungs & body & ~central, dtype=bool)


def _ribs(view: FloatArray, hull: BoolArray) -> BoolArray:
    size = max(5, view.shape[1] // 25)
    ridges = ndimage.white_tophat(view, size=(size, size))
    inside = ridges[hull]
    if not inside.size:
        return np.zeros_like(hull)
    ribs = (ridges > np.percentile(inside, 85)) & hull
    return keep_large_components(ribs, min_voxels=max(4, size * 2))
