"""Reorientation of volumes into the canonical SPL layout of ``viewer.records`` (flip/transpose only).

The affine is LPS (DICOM patient coordinates): world x → patient Left, y → Posterior, z → Superior.
The canonical array has axis 0 → S, axis 1 → P, axis 2 → L, so its ideal affine is a positive diagonal
in the order (z, y, x). Oblique or tilted volumes are reoriented to the closest such layout (nibabel's
``io_orientation``), never resampled; the affine keeps the exact geometry.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt

_LPS_LABELS = (("R", "L"), ("A", "P"), ("I", "S"))

F64 = npt.NDArray[np.float64]


def _orientations() -> Any:
    """``nibabel.orientations`` (untyped; imported on first use)."""
    return importlib.import_module("nibabel.orientations")


def ras_to_lps(affine: F64) -> F64:
    """Convert a voxel→RAS affine (NIfTI) to voxel→LPS (DICOM) by negating world x and y."""
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    return np.asarray(flip @ affine, dtype=np.float64)


def to_spl(data: np.ndarray, affine: F64) -> tuple[np.ndarray, F64]:
    """Flip/transpose a 3D array so that axis 0 → S, axis 1 → P, axis 2 → L.

    Args:
        data: 3D array indexed like ``affine``'s voxel axes.
        affine: Voxel→LPS affine of ``data``.

    Returns:
        The reoriented array (C-contiguous) and its voxel→LPS affine.
    """
    nio = _orientations()
    start = nio.io_orientation(affine)
    end = nio.axcodes2ornt(("S", "P", "L"), labels=_LPS_LABELS)
    transform = nio.ornt_transform(start, end)
    out = np.ascontiguousarray(nio.apply_orientation(data, transform))
    new_affine = affine @ nio.inv_ornt_aff(transform, data.shape)
    return out, np.asarray(new_affine, dtype=np.float64)


def axis_spacing(affine: F64) -> tuple[float, float, float]:
    """Voxel size along each array axis: the lengths of the affine's first three columns (to 1e-6 mm)."""
    norms = np.linalg.norm(affine[:3, :3], axis=0)
    return round(float(norms[0]), 6), round(float(norms[1]), 6), round(float(norms[2]), 6)


def axcodes(affine: F64) -> str:
    """Patient-direction letters of the array axes, e.g. ``SPL`` (closest axis, LPS affine)."""
    return "".join(str(c) for c in _orientations().aff2axcodes(affine, labels=_LPS_LABELS))
