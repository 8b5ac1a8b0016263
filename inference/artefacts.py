"""Content references for arrays a draft points at (masks, heat maps).

``content_ref`` is the key under which storage persists an array and the value of
``Grounding.mask_ref`` / ``Grounding.attention_ref``.
"""

from __future__ import annotations

import hashlib

import numpy as np


def content_ref(array: np.ndarray) -> str:
    """A stable content hash of an array: ``"sha256:<hex>"``.

    The digest covers the canonical (little-endian) dtype, the shape and the C-ordered bytes, so
    the same values in a different dtype or shape get a different reference, and the reference
    does not depend on memory layout or byte order.

    Args:
        array: Any numpy array (bool masks, float heat maps…).

    Returns:
        ``"sha256:"`` followed by 64 hex digits.
    """
    arr = np.ascontiguousarray(array)
    dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    arr = arr.astype(dtype, copy=False)
    digest = hashlib.sha256()
    digest.update(f"{dtype.str}|{','.join(str(s) for s in arr.shape)}|".encode())
    digest.update(arr.tobytes(order="C"))
    return f"sha256:{digest.hexdigest()}"


def normalised_box(mask: np.ndarray, digits: int = 4) -> tuple[float, ...] | None:
    """The bounding box of a mask in the DESIGN §2 convention, or ``None`` for an empty mask.

    2D ``[row, col]`` masks give ``(x_min, y_min, x_max, y_max)`` (x = columns); 3D SPL masks give
    ``(x_min, y_min, z_min, x_max, y_max, z_max)`` with x = axis 2, y = axis 1, z = axis 0. Minima
    are the first voxel's index ÷ size, maxima the last voxel's index + 1 ÷ size, so the box covers
    whole voxels and stays within [0, 1].

    Args:
        mask: Boolean 2D or 3D mask.
        digits: Rounding of the normalised coordinates (keeps JSON short and stable).
    """
    if mask.ndim not in (2, 3) or not mask.any():
        return None
    lo, hi = [], []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        idx = np.flatnonzero(mask.any(axis=other))
        lo.append(round(idx[0] / mask.shape[axis], digits))
        hi.append(round((idx[-1] + 1) / mask.shape[axis], digits))
    order = (1, 0) if mask.ndim == 2 else (2, 1, 0)  # x, y(, z)
    return tuple(float(lo[a]) for a in order) + tuple(float(hi[a]) for a in order)
