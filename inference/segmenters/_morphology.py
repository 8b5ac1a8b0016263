"""Small scipy.ndimage helpers shared by the classical segmenters."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

BoolArray = npt.NDArray[np.bool_]

# In-plane (per-slice) connectivity for 3D arrays: operations act on each axial slice independently.
IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
IN_PLANE[1] = True


def keep_large_components(mask: BoolArray, min_fraction: float = 0.0, min_voxels: int = 1,
                          max_count: int | None = None) -> BoolArray:
    """Keep connected components at least ``min_voxels`` and ``min_fraction`` of the largest.

    Args:
        mask: Boolean 2D/3D mask.
        min_fraction: Relative size threshold against the largest component.
        min_voxels: Absolute size threshold.
        max_count: Keep at most this many (largest first).
    """
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(labels.ravel())[1:]
    order = np.argsort(sizes)[::-1]
    keep = [i + 1 for i in order if sizes[i] >= max(min_voxels, min_fraction * sizes[order[0]])]
    if max_count is not None:
        keep = keep[:max_count]
    return np.isin(labels, keep)


def fill_holes_in_plane(mask: BoolArray) -> BoolArray:
    """Fill holes slice by slice (axis 0) for 3D masks, or in 2D."""
    if mask.ndim == 2:
        return ndimage.binary_fill_holes(mask)  # type: ignore[no-any-return]
    return ndimage.binary_fill_holes(mask, structure=IN_PLANE)  # type: ignore[no-any-return]


def convex_hull_2d(mask: BoolArray) -> BoolArray:
    """The filled convex hull of a 2D mask (empty when it has fewer than 3 non-collinear pixels)."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.argwhere(mask)
    if len(pts) < 3:
        return mask.copy()
    try:
        hull = ConvexHull(pts)
    except QhullError:
        return mask.copy()
    (r0, c0), (r1, c1) = pts.min(axis=0), pts.max(axis=0) + 1
    rr, cc = np.mgrid[r0:r1, c0:c1]
    grid = np.stack([rr.ravel(), cc.ravel()], axis=1).astype(np.float64)
    inside = np.all(grid @ hull.equations[:, :2].T + hull.equations[:, 2] <= 1e-9, axis=1)
    out = np.zeros_like(mask, dtype=bool)
    out[r0:r1, c0:c1] = inside.reshape(rr.shape)
    return out | mask


def bbox(mask: BoolArray) -> tuple[tuple[int, int], ...] | None:
    """Per-axis ``(min, max_exclusive)`` of a mask's true voxels, or ``None`` when empty."""
    if not mask.any():
        return None
    out = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        idx = np.flatnonzero(mask.any(axis=other))
        out.append((int(idx[0]), int(idx[-1]) + 1))
    return tuple(out)


def upsample_nearest(mask: BoolArray, factors: tuple[int, ...], shape: tuple[int, ...]) -> BoolArray:
    """Nearest-neighbour upsampling of a mask computed on ``array[::f0, ::f1, ...]`` to ``shape``.

    Uses ``np.repeat`` (contiguous copies, several times faster than fancy indexing on large volumes).
    """
    if all(f == 1 for f in factors):
        return mask
    out = mask
    for axis, f in enumerate(factors):
        if f > 1:
            out = np.repeat(out, f, axis=axis)
    out = out[tuple(slice(0, n) for n in shape)]
    pad = [(0, max(0, n - m)) for n, m in zip(shape, out.shape, strict=True)]
    return np.pad(out, pad, mode="edge") if any(p[1] for p in pad) else np.ascontiguousarray(out)


def upsample_many(masks: dict[str, BoolArray], factors: tuple[int, ...],
                  shape: tuple[int, ...]) -> dict[str, BoolArray]:
    """:func:`upsample_nearest` for many masks, packed 8 to a byte so each pass moves one volume."""
    if all(f == 1 for f in factors):
        return dict(masks)
    names = list(masks)
    out: dict[str, BoolArray] = {}
    for start in range(0, len(names), 8):
        group = names[start : start + 8]
        packed = np.zeros(masks[group[0]].shape, dtype=np.uint8)
        for bit, name in enumerate(group):
            packed |= masks[name].astype(np.uint8) << bit
        big = upsample_nearest(packed, factors, shape)  # type: ignore[arg-type]
        for bit, name in enumerate(group):
            out[name] = (big & np.uint8(1 << bit)) != 0
    return out
