"""``cxr-classical``: lung fields, heart, mediastinum, diaphragm… on a frontal chest radiograph.

Intensity (Otsu thresholds on a smoothed, normalised image), morphology and geometry; no model.
The image is first mapped to "bright = dense" (MONOCHROME1 stored values are inverted) and
robustly normalised to [0, 1] by the 1st/99th percentiles of its field of view (flat collimator
bands and padding at the edges excluded; burned-in text markers are too small to move them).
Segmentation runs on a copy reduced to at most :data:`WORK_SIZE` pixels on its long side, and the
masks are scaled back. Each lung is found in its half of the image (split at the spine): the dark
basin around its deepest dark point, cut from exterior air at the narrowest neck, extended into
denser lower zones and filled row by row (see :func:`_lung_in`, :func:`_extend`, :func:`_fill_rows`).
Patient right is on image left (standard PA/AP display) unless PatientOrientation says the columns
run towards the patient's right. Every mask is labelled approximate; :mod:`inference.plausibility`
decides whether it can be measured.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from inference.protocols import RegionMask, SegmentationResult
from inference.segmenters._cxr_outlines import (
    _airway,
    _diaphragm,
    _heart_and_mediastinum,
    _medial_spans,
    _pleura,
    _ribs,
    _thorax,
)
from inference.segmenters._cxr_prep import (
    FLAT_STD,
    WORK_SIZE,
    dense_view,
    field_of_view,
    otsu,
    patient_right_on_image_right,
    work_factor,
)
from inference.segmenters._input import require_ndim
from inference.segmenters._morphology import fill_holes_in_plane, keep_large_components, upsample_nearest
from viewer.records import Image

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

MIN_LUNG_FRACTION = 0.015  # of the field of view: smaller dark components are not lung candidates

METHODS = {
    "body": "Otsu threshold of the smoothed image, largest component, holes filled, plus the thorax",
    "lungs": "per image half (split at the spine): dark (below the central Otsu threshold) basin around "
             "the deepest dark point, cut from exterior air at its narrowest neck, denser bases added, "
             "rows and holes filled",
    "heart": "dense pixels between the lungs' medial edges in the lower half of the lung fields",
    "mediastinum": "dense corridor between the lungs above the heart",
    "airway": "midline band of the upper mediastinum (trachea position, not detected)",
    "diaphragm": "body below each lung base, 12% of the lung height deep",
    "pleura": "band within 2% of the image width outside the lung fields",
    "bones": "ridge (white top-hat) pixels crossing the lung fields (ribs)",
    "soft tissues": "body outside the thoracic cage (lung hull dilated)",
}

__all__ = ["FLAT_STD", "METHODS", "MIN_LUNG_FRACTION", "WORK_SIZE", "CXRClassicalSegmenter", "dense_view",
           "field_of_view", "otsu", "patient_right_on_image_right", "segment_frontal", "spine_column",
           "work_factor"]


class CXRClassicalSegmenter:
    """Classical frontal-CXR segmenter (see module docstring)."""

    name = "cxr-classical"

    def __init__(self, work_size: int = WORK_SIZE, gamma: float = 1.0) -> None:
        """Args:
            work_size: Long side of the reduced copy segmented (see :data:`WORK_SIZE`).
            gamma: Power applied to the normalised bright=dense view first (1 = none); other values
                re-measure under another grey curve (:func:`inference.generators.builtin` uses them
                to test whether a cardiothoracic ratio is stable).
        """
        self.work_size, self.gamma = work_size, gamma

    def segment(self, image: Image) -> SegmentationResult:
        """Segment a frontal radiograph.

        Raises:
            ValueError: for a 3D volume (use ``threshold-ct``).
        """
        require_ndim(image, 2, self.name, "threshold-ct")
        full = dense_view(image) ** self.gamma if self.gamma != 1.0 else dense_view(image)
        f = work_factor(full.shape, self.work_size)
        small = ndimage.uniform_filter(full, size=f | 1)[::f, ::f] if f > 1 else full  # centred means
        view = ndimage.gaussian_filter(small, sigma=max(1.0, full.shape[1] / 128) / f)
        rows, cols = field_of_view(np.asarray(image.pixels, dtype=np.float64)[::f, ::f])
        masks = segment_frontal(view, (rows, cols))
        if patient_right_on_image_right(image) and "lungs" in masks:
            lungs, parts = masks["lungs"]
            masks["lungs"] = (lungs, {"right": parts["left"], "left": parts["right"]})
        result = {}
        for region, (m, parts) in masks.items():
            if not m.any():
                continue
            big = {k: upsample_nearest(p, (f, f), full.shape) for k, p in parts.items()}
            result[region] = RegionMask(region, upsample_nearest(m, (f, f), full.shape), approximate=True,
                                        method=METHODS[region], parts=big)
        return SegmentationResult(self.name, result, method=(__doc__ or "").splitlines()[0],
                                  shape=image.shape)


def segment_frontal(view: FloatArray, fov: tuple[slice, slice] | None = None,
                    ) -> dict[str, tuple[BoolArray, dict[str, BoolArray]]]:
    """All regions on a smoothed bright=dense view; region → (mask, parts).

    Args:
        view: Smoothed bright=dense image in [0, 1].
        fov: The field of view (rows, cols) inside the image; the whole image when ``None``.
    """
    field = np.zeros(view.shape, dtype=bool)
    field[fov or (slice(None), slice(None))] = True
    body = fill_holes_in_plane(keep_large_components((view > otsu(view[field])) & field, max_count=1))
    right, left = _lungs(view, field)
    lungs = right | left
    hull = _thorax(lungs)
    body |= hull
    if not right.any() or not left.any():
        return {"body": (body, {}), "lungs": (lungs, {"right": right, "left": left})}
    spans = _medial_spans(right, left)
    heart, mediastinum = _heart_and_mediastinum(spans, lungs, body)
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


def _central(field: BoolArray) -> BoolArray:
    """The central part of the field of view (rows 15–85%, columns 10–90%)."""
    rows, cols = np.flatnonzero(field.any(axis=1)), np.flatnonzero(field.any(axis=0))
    out = np.zeros_like(field)
    if rows.size and cols.size:
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        r0, c0 = int(rows[0]), int(cols[0])
        out[r0 + int(0.15 * h) : r0 + int(0.85 * h), c0 + int(0.1 * w) : c0 + int(0.9 * w)] = True
    return out & field


def spine_column(view: FloatArray, field: BoolArray) -> int:
    """Column of the densest vertical band near the middle of the field (spine/mediastinum)."""
    central = _central(field)
    rows = np.flatnonzero(central.any(axis=1))
    cols = np.flatnonzero(field.any(axis=0))
    if not rows.size or not cols.size:
        return int(view.shape[1] // 2)
    profile = ndimage.uniform_filter1d(view[rows].mean(axis=0), size=max(3, view.shape[1] // 40))
    lo, hi = int(cols[0]) + int(0.35 * cols.size), int(cols[0]) + int(0.65 * cols.size)
    return lo + int(np.argmax(profile[lo:hi]))


def _lungs(view: FloatArray, field: BoolArray) -> tuple[BoolArray, BoolArray]:
    """Right (image-left) and left (image-right) lung fields."""
    central = _central(field)
    if not central.any():
        return np.zeros_like(field), np.zeros_like(field)
    dark = (view < otsu(view[central])) & field
    mid = spine_column(view, field)
    cols = np.arange(view.shape[1])[None, :]
    out = []
    for half in (cols < mid, cols > mid):
        lung = _lung_in(dark, field, half)
        out.append(_extend(lung, view, field, half, mid) if lung.any() else lung)
    return out[0], out[1]


def _extend(lung: BoolArray, view: FloatArray, field: BoolArray, half: BoolArray, mid: int) -> BoolArray:
    """Add the denser lower parts of a lung (bases behind breast tissue, mass-filled lower zones).

    Pixels of the half below 85% of the way from the lung's median level to the chest-wall level
    (lower quartile of a band just outside the lung's outer quarters: soft tissue between the ribs),
    connected to the lung, below its median row,
    within its column range and within a tenth of the image width of it, are candidates; only
    candidate regions that reach farther than 3 pixels from the lung (real extensions, not the
    blurred rim) are added.
    """
    width = view.shape[1]
    wall = ndimage.binary_dilation(lung, iterations=max(2, width // 25)) & ~ndimage.binary_dilation(
        lung, iterations=max(1, width // 100)) & half & field & ~(np.arange(width)[None, :] == mid)
    pts = np.argwhere(lung)
    c0, c1 = int(pts[:, 1].min()), int(pts[:, 1].max()) + 1
    lateral = wall.copy()
    lateral[:, c0 + (c1 - c0) // 4 : c1 - (c1 - c0) // 4] = False  # the outer quarters: chest wall
    if not lateral.any():
        return lung
    lung_level, soft = float(np.median(view[lung])), float(np.percentile(view[lateral], 25))
    if soft <= lung_level:
        return lung
    edge = field & ~ndimage.binary_erosion(field, border_value=0)
    reach = ndimage.distance_transform_edt(~lung)
    candidates = (view < lung_level + 0.85 * (soft - lung_level)) & half & field & (reach <= width / 10)
    candidates &= ndimage.distance_transform_edt(~edge) > width / 50
    centre = int(np.median(pts[:, 0]))
    candidates[:centre] = False  # bases only: above them the chest wall and neck are as thin as this
    candidates[:, :c0], candidates[:, c1:] = False, False  # never wider than the lung already is
    grown = ndimage.binary_propagation(lung, mask=candidates | lung)
    extra = grown & (reach > 3)
    labels, n = ndimage.label(extra)
    if n == 0:
        return lung
    sizes = np.bincount(labels.ravel())
    keep = np.isin(labels, [c for c in range(1, n + 1) if sizes[c] >= 0.02 * lung.sum()])
    out = lung | (grown & ndimage.binary_dilation(keep, iterations=4))
    out = ndimage.binary_closing(out, structure=_disc(max(1, width // 60)))
    return _fill_rows(fill_holes_in_plane(out)) & half & field


def _fill_rows(lung: BoolArray, base_fraction: float = 0.1) -> BoolArray:
    """Fill each row of a lung between its outermost pixels, except in its lowest ``base_fraction``.

    A mass or consolidation darker-than-soft-tissue is a notch open to one side that hole filling
    leaves out; a lung field is one interval per row above its base (where the diaphragm dome may
    split it into recesses).
    """
    out = lung.copy()
    rows = np.flatnonzero(lung.any(axis=1))
    if not rows.size:
        return out
    stop = rows[-1] + 1 - int(base_fraction * rows.size)
    for r in rows[rows < stop]:
        cols = np.flatnonzero(lung[r])
        out[r, cols[0] : cols[-1] + 1] = True
    return out


def _lung_in(dark: BoolArray, field: BoolArray, half: BoolArray) -> BoolArray:
    """The lung in one half: the dark region around the deepest dark point, cut from exterior air.

    The seed is the dark pixel farthest from any bright one in rows 15–80% and columns 10–90% of
    the field. The core
    is the seed's component of dark pixels at least ``d`` from a bright one, for the smallest ``d``
    at which it no longer touches the field edge (exterior air above the shoulders or beside the
    chest joins the lungs through necks narrower than ``2d``); the lung is the dark pixels within
    ``d`` of the core and farther than ``2d`` from the field edge.
    """
    region = dark & half
    rows = np.flatnonzero(field.any(axis=1))
    if not region.any() or not rows.size:
        return np.zeros_like(dark)
    dist = ndimage.distance_transform_edt(region | ~field) * region  # air runs on past the shutters
    cols = np.flatnonzero(field.any(axis=0))
    band = np.zeros_like(dark)  # where a lung's deepest point can be: not in the air beside the chest
    band[rows[0] + int(0.15 * rows.size) : rows[0] + int(0.8 * rows.size),
         cols[0] + int(0.1 * cols.size) : cols[0] + int(0.9 * cols.size)] = True
    seed_dist = np.where(band, dist, 0.0)
    seed = np.unravel_index(int(np.argmax(seed_dist)), dark.shape)
    edge = ndimage.binary_dilation(field & ~ndimage.binary_erosion(field, border_value=0), iterations=2)
    for d in range(1, int(seed_dist[seed] / 2) + 1):
        labels, _ = ndimage.label(dist >= d)
        core = labels == labels[seed]
        if not (core & edge).any():
            break
    else:
        return np.zeros_like(dark)
    near_edge = ndimage.distance_transform_edt(~edge) <= 2 * d  # chest walls are thicker than the necks
    lung = region & (ndimage.distance_transform_edt(~core) <= d) & ~near_edge
    lung = keep_large_components(lung, max_count=1)
    if lung.sum() < MIN_LUNG_FRACTION * field.sum():
        return np.zeros_like(dark)
    lung = ndimage.binary_closing(lung, structure=_disc(max(1, dark.shape[1] // 60)))
    return fill_holes_in_plane(lung) & half & field


def _disc(r: int) -> BoolArray:
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return np.asarray(x * x + y * y <= r * r)
