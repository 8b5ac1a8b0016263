"""Colour to grey, one rule for every reader: ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

LUMA_NOTE = "converted to grey with ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B)"
"""The warning text every reader appends after its colour model, e.g. ``RGB image converted …``."""


def luma(rgb: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """BT.601 luma of an ``[..., 3]`` array (an alpha channel ``[..., 4]`` is ignored), computed in float64.

    Example: ``luma(np.array([[255, 0, 0]]))`` → ``[76.245]`` (0.299 × 255).
    """
    values = np.asarray(rgb, dtype=np.float64)
    grey = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
    return np.asarray(grey, dtype=np.float32)
