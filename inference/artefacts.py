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
