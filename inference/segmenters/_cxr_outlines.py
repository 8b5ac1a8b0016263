"""``cxr-classical`` regions derived from the lung fields: heart, mediastinum and the outlines."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from inference.segmenters._morphology import fill_holes_in_plane, keep_large_components

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def _medial_spans(right: BoolArray, left: BoolArray) -> npt.NDArray[np.int64]:
    """Per row: ``[first, last)`` columns between the right lung's medial edge and the left's (or -1).

    Upper half of the lungs: rows where either lung is narrower than 25% of its widest row (apices)
    have no span. Lower half: each medial edge is followed down to its cardiophrenic angle
    (:func:`_angle_row`) and held there below it, so the span is bounded by the heart borders down
    to the lower of the two angles.
    """
    rows = right.shape[0]
    spans = np.full((rows, 2), -1, dtype=np.int64)
    w_right, w_left = right.sum(axis=1), left.sum(axis=1)
    lung_rows = np.flatnonzero((right | left).any(axis=1))
    split = int(lung_rows[0] + 0.5 * (lung_rows[-1] - lung_rows[0]))
    edge_r = np.where(w_right > 0, right.shape[1] - 1 - np.argmax(right[:, ::-1], axis=1), -1)
    edge_l = np.where(w_left > 0, np.argmax(left, axis=1), -1)
    for r in range(split):
        if w_right[r] < 0.25 * w_right.max() or w_left[r] < 0.25 * w_left.max():
            continue
        if 0 <= edge_r[r] < edge_l[r]:
            spans[r] = (edge_r[r] + 1, edge_l[r])
    step = max(2, int(0.02 * (lung_rows[-1] - lung_rows[0])))
    angle_r = _angle_row(edge_r, split, step, lateral=-1)
    angle_l = _angle_row(edge_l, split, step, lateral=+1)
    if angle_r < 0 or angle_l < 0:
        return spans
    for r in range(split, max(angle_r, angle_l) + 1):
        er, el = edge_r[min(r, angle_r)], edge_l[min(r, angle_l)]
        if er < el:
            spans[r] = (er + 1, el)
    return spans


def _angle_row(edge: npt.NDArray[np.int64], start: int, step: int, lateral: int) -> int:
    """The cardiophrenic angle of one lung, or -1: in the lowest quarter of the lung's height (and
    below ``start``), the row where its medial edge turns laterally most sharply (the slope over the
    next ``step`` rows minus that over the previous ``step``), heart border above, diaphragm below.
    """
    present = np.flatnonzero(edge >= 0)
    if not present.size or start >= edge.size or edge[start] < 0:
        return -1
    first, last = int(present[0]), int(present[-1])
    lo = max(start, last - (last - first) // 4, step)
    best, best_turn = -1, 0.0
    for r in range(lo, last - step + 1):
        if edge[r - step] < 0 or edge[r + step] < 0:
            continue
        turn = lateral * ((edge[r + step] - edge[r]) - (edge[r] - edge[r - step])) / step
        if turn > best_turn:
            best, best_turn = r, turn
    return best


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
