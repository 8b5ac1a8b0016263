"""Geometry of a DICOM series: sort slices along the normal of their ImageOrientationPatient, check the
steps (duplicates and gaps are errors; uneven spacing and gantry tilt are warnings) and build the LPS affine
of the acquired stack (:mod:`viewer.io.dicom_series` reads the slices and their pixels)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from viewer.errors import StudyLoadError
from viewer.io import dicom_common as dc
from viewer.io.source import Source

GAP_FACTOR = 1.5
"""A step larger than this × the median slice spacing means slices are missing."""
UNEVEN_TOLERANCE = 0.01
"""Relative deviation from the median spacing above which spacing is reported as non-uniform."""
TILT_TOLERANCE_DEG = 0.5
"""Angle between the slice normal and the slice-to-slice direction reported as gantry tilt."""


class Slice(Protocol):
    """What the geometry needs of a slice header (:class:`viewer.io.dicom_series.Slice` has it)."""

    source: Source
    rows: int
    cols: int
    iop: npt.NDArray[np.float64] | None
    ipp: npt.NDArray[np.float64] | None

    @property
    def ds(self) -> Any:
        """The pydicom dataset (header)."""


def _require(s: Slice, keyword: str) -> npt.NDArray[np.float64]:
    value = s.iop if keyword == "ImageOrientationPatient" else s.ipp
    if value is None:
        raise StudyLoadError(s.source.name, f"{keyword} missing or malformed; cannot place the slice")
    return value


@dataclass(frozen=True)
class Geometry:
    """Sorted slice order and the voxel→LPS affine of the acquired (unreoriented) stack."""

    order: list[int]
    affine: npt.NDArray[np.float64]
    warnings: tuple[str, ...]


def _check_uniform(where: str, slices: Sequence[Slice]) -> npt.NDArray[np.float64]:
    first = slices[0]
    iop = _require(first, "ImageOrientationPatient")
    for s in slices[1:]:
        if (s.rows, s.cols) != (first.rows, first.cols):
            raise StudyLoadError(
                where,
                f"slices differ in size: {s.source.name} is {s.rows}×{s.cols}, "
                f"{first.source.name} is {first.rows}×{first.cols}",
            )
        if np.max(np.abs(_require(s, "ImageOrientationPatient") - iop)) > 1e-3:
            raise StudyLoadError(
                where,
                f"slices differ in ImageOrientationPatient ({s.source.name}); "
                "a localizer or a second orientation is mixed in",
            )
    return iop


def geometry(where: str, slices: Sequence[Slice]) -> Geometry:
    """Sort slices along the normal, check spacing, and build the stack's LPS affine.

    Raises:
        StudyLoadError: Mixed sizes/orientations, duplicate positions, or missing slices.
    """
    iop = _check_uniform(where, slices)
    row_cos, col_cos = _unit(iop[:3]), _unit(iop[3:])  # headers round the cosines (e.g. to 6 digits)
    normal = _unit(np.cross(row_cos, col_cos))
    positions = np.stack([_require(s, "ImagePositionPatient") for s in slices])
    along = positions @ normal
    order = [int(i) for i in np.argsort(along, kind="stable")]
    steps = np.diff(along[order])
    warnings = _check_steps(where, [slices[i] for i in order], along[order], steps)
    spacing, _tag = dc.pixel_spacing(slices[0].ds)
    if spacing is None:
        spacing = (1.0, 1.0)
        warnings.append("PixelSpacing missing or 0\\0: assuming 1 mm")
    if len(slices) > 1:
        step = (positions[order[-1]] - positions[order[0]]) / (len(slices) - 1)
        warnings += _tilt(step, normal)
    else:
        thickness = (
            dc.first_float(dc.get(slices[0].ds, "SpacingBetweenSlices"))
            or dc.first_float(dc.get(slices[0].ds, "SliceThickness"))
            or 1.0
        )
        step = normal * thickness
        warnings.append(
            f"single slice: shown as a one-slice volume, slice extent {thickness:g} mm from the header"
        )
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = step, col_cos * spacing[0], row_cos * spacing[1]
    affine[:3, 3] = positions[order[0]]
    return Geometry(order=order, affine=affine, warnings=tuple(warnings))


def _unit(vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``vector`` scaled to length 1 (direction cosines as written are only nearly unit length)."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-6 else vector


def _check_steps(
    where: str, ordered: Sequence[Slice], along: npt.NDArray[np.float64], steps: npt.NDArray[np.float64]
) -> list[str]:
    if steps.size == 0:
        return []
    positive = steps[steps > 1e-3]
    median = float(np.median(positive)) if positive.size else 0.0
    dup = np.flatnonzero(steps <= max(1e-3, 0.01 * median))
    if dup.size:
        a, b = ordered[dup[0]], ordered[dup[0] + 1]
        raise StudyLoadError(
            where,
            f"{dup.size} duplicate slice position(s), e.g. {along[dup[0]]:.2f} mm in "
            f"{a.source.name} and {b.source.name}; remove the duplicates",
        )
    gaps = np.flatnonzero(steps > GAP_FACTOR * median)
    if gaps.size:
        g = int(gaps[0])
        missing = round(float(steps[g]) / median) - 1
        raise StudyLoadError(
            where,
            f"missing slices: gap of {steps[g]:.2f} mm between {along[g]:.2f} and "
            f"{along[g + 1]:.2f} mm (median spacing {median:.2f} mm, about {missing} "
            f"slice(s) missing, {gaps.size} gap(s) in all)",
        )
    deviation = float(np.max(np.abs(steps - median)) / median)
    if deviation > UNEVEN_TOLERANCE:
        return [
            f"non-uniform slice spacing: steps {steps.min():.3f}–{steps.max():.3f} mm "
            f"(median {median:.3f} mm); the volume uses the mean step"
        ]
    return []


def _tilt(step: npt.NDArray[np.float64], normal: npt.NDArray[np.float64]) -> list[str]:
    cosine = abs(float(step @ normal)) / max(float(np.linalg.norm(step)), 1e-12)
    angle = float(np.degrees(np.arccos(min(1.0, cosine))))
    if angle > TILT_TOLERANCE_DEG:
        return [f"gantry tilt of {angle:.1f}°: slices are sheared; the affine keeps the true geometry"]
    return []


def acquisition_plane(affine: npt.NDArray[np.float64]) -> str:
    """``AXIAL``, ``CORONAL``, ``SAGITTAL`` or ``OBLIQUE`` from the slice direction of the acquired stack."""
    normal = np.cross(affine[:3, 1], affine[:3, 2])
    normal = normal / max(float(np.linalg.norm(normal)), 1e-12)
    axis = int(np.argmax(np.abs(normal)))
    if abs(float(normal[axis])) < 0.9:
        return "OBLIQUE"
    return ("SAGITTAL", "CORONAL", "AXIAL")[axis]
