"""Measurements on region masks used by the built-in generator (pure numpy/scipy functions).

Units are stated in every name: ``_mm``, ``_ml``, ``_hu``. CT arrays are SPL ``[k, i, j]``
(``viewer.records``); 2D arrays are ``[row, col]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

BoolArray = npt.NDArray[np.bool_]

FLUID_HU = (-10.0, 30.0)
SOLID_NODULE_HU = -300.0
MIN_NODULE_DIAMETER_MM = 4.0
MAX_NODULE_ELONGATION = 3.0
SCLEROTIC_HU = 1200.0
PLEURAL_MARGIN_MM = 4.5
LOW_TRABECULAR_HU = 100.0


@dataclass(frozen=True)
class Nodule:
    """A solid lung nodule candidate.

    Attributes:
        mask: The component's voxels (image shape).
        diameter_mm: Equivalent-sphere (3D) or equivalent-circle (2D) diameter.
        side: ``right`` or ``left`` (patient side).
        zone: ``upper`` or ``lower`` half of that lung's craniocaudal extent (a proxy for the lobe).
        mean_hu: Mean attenuation (CT) or ``None`` (radiograph).
        elongation: Ratio of the principal axes (1 = round).
    """

    mask: BoolArray
    diameter_mm: float
    side: str
    zone: str
    mean_hu: float | None = None
    elongation: float = 1.0


def _widths_mm(mask: BoolArray, axis: int, spacing: float) -> npt.NDArray[np.float64]:
    """Extent (first to last true voxel, inclusive) along ``axis`` for every line, in mm (0 if empty)."""
    present = mask.any(axis=axis)
    first = np.argmax(mask, axis=axis)
    last = mask.shape[axis] - 1 - np.argmax(np.flip(mask, axis=axis), axis=axis)
    return np.where(present, (last - first + 1) * spacing, 0.0)


def cardiothoracic_ratio_2d(heart: BoolArray, lungs: BoolArray, col_spacing: float = 1.0,
                            base_fraction: float = 0.1) -> float:
    """Frontal CXR: maximal horizontal heart width ÷ maximal thoracic (outer lung edge) width.

    The lowest ``base_fraction`` of the heart's rows is left out of its width: there the silhouette
    meets the diaphragm and the outline flares between the lung bases.
    """
    widths = _widths_mm(heart, 1, col_spacing)
    rows = np.flatnonzero(widths)
    if rows.size:
        widths = widths[rows[0] : rows[-1] + 1 - int(base_fraction * rows.size)]
    heart_w = widths.max(initial=0.0)
    thorax_w = _widths_mm(lungs, 1, col_spacing).max(initial=0.0)
    return float(heart_w / thorax_w) if thorax_w > 0 else float("nan")


def cardiothoracic_ratio_ct(heart: BoolArray, lungs: BoolArray, col_spacing: float) -> float:
    """Axial CT: on the slice of maximal heart width, heart width ÷ thoracic width (outer lung edges)."""
    heart_w = _widths_mm(heart, 2, col_spacing).max(axis=1, initial=0.0)  # per slice
    if not heart_w.any():
        return float("nan")
    k = int(np.argmax(heart_w))
    thorax_w = _widths_mm(lungs[k], 1, col_spacing).max(initial=0.0)
    return float(heart_w[k] / thorax_w) if thorax_w > 0 else float("nan")


def volume_ml(mask: BoolArray, spacing: tuple[float, ...]) -> float:
    """Mask volume in mL (area in cm² for 2D masks)."""
    return float(mask.sum() * np.prod(spacing) / (1000.0 if mask.ndim == 3 else 100.0))


def mean_value(values: np.ndarray, mask: BoolArray) -> float:
    """Mean of ``values`` inside ``mask`` (NaN when empty)."""
    return float(values[mask].mean()) if mask.any() else float("nan")


def fluid_voxels(hu: np.ndarray, region: BoolArray) -> BoolArray:
    """Voxels of ``region`` whose attenuation is in the fluid range :data:`FLUID_HU`."""
    return region & (hu >= FLUID_HU[0]) & (hu <= FLUID_HU[1])


def side_of(mask: BoolArray, right: BoolArray, left: BoolArray) -> str:
    """``right``/``left``: the lung whose centroid column is nearer the mask's centroid column."""
    col = np.argwhere(mask)[:, -1].mean()
    d_right = abs(col - np.argwhere(right)[:, -1].mean()) if right.any() else np.inf
    d_left = abs(col - np.argwhere(left)[:, -1].mean()) if left.any() else np.inf
    return "right" if d_right <= d_left else "left"


def _elongation(points: npt.NDArray[np.float64]) -> float:
    if len(points) < 4:
        return 1.0
    eig = np.sort(np.linalg.eigvalsh(np.cov(points.T)))[::-1]
    return float(np.sqrt(eig[0] / max(eig[-1], 1e-6)))


def _zone(mask: BoolArray, lung: BoolArray) -> str:
    """Upper/lower half of the lung: CT axis 0 increases superiorly; CXR rows increase inferiorly."""
    axis_vals = np.flatnonzero(lung.any(axis=tuple(range(1, lung.ndim))))
    centre = np.argwhere(mask)[:, 0].mean()
    mid = (axis_vals[0] + axis_vals[-1]) / 2.0
    upper = centre > mid if lung.ndim == 3 else centre < mid
    return "upper" if upper else "lower"


def components(mask: BoolArray, min_voxels: int = 1) -> list[BoolArray]:
    """Connected components of ``mask`` with at least ``min_voxels`` voxels, largest first.

    Uses ``find_objects`` so the cost does not grow with (number of components × volume size).
    """
    labels, n = ndimage.label(mask)
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel())
    out = []
    for c, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None or sizes[c] < min_voxels:
            continue
        comp = np.zeros(mask.shape, dtype=bool)
        comp[box] = labels[box] == c
        out.append((int(sizes[c]), c, comp))
    return [comp for _, _, comp in sorted(out, key=lambda t: (-t[0], t[1]))]


def solid_nodules_ct(hu: np.ndarray, right: BoolArray, left: BoolArray,
                     spacing: tuple[float, float, float]) -> list[Nodule]:
    """Solid (> −300 HU) components inside the lungs, larger than a 4 mm sphere, not vessel-shaped.

    Voxels within :data:`PLEURAL_MARGIN_MM` (in-plane) of the lung border are not searched, so
    partial-volume voxels at the pleura and mediastinum (and blocky borders of masks computed on a
    coarser grid) are not counted; juxtapleural nodules are missed. Components elongated more than
    3:1 (principal axes, in mm) are treated as vessels and skipped.
    """
    from inference.segmenters._morphology import IN_PLANE

    found = []
    min_vox = int(np.ceil((np.pi / 6.0) * MIN_NODULE_DIAMETER_MM**3 / float(np.prod(spacing))))
    margin = max(2, int(np.ceil(PLEURAL_MARGIN_MM / min(spacing[1], spacing[2]))))
    for side, lung in (("right", right), ("left", left)):
        core = ndimage.binary_erosion(lung, structure=IN_PLANE, iterations=margin)
        for comp in components(core & (hu > SOLID_NODULE_HU), max(1, min_vox)):
            pts = np.argwhere(comp) * np.asarray(spacing)
            if _elongation(pts) > MAX_NODULE_ELONGATION:
                continue
            diameter = float((6.0 * volume_ml(comp, spacing) * 1000.0 / np.pi) ** (1.0 / 3.0))
            found.append(Nodule(comp, diameter, side, _zone(comp, lung), mean_value(hu, comp)))
    return sorted(found, key=lambda n: -n.diameter_mm)


def nodular_opacities_2d(view: np.ndarray, right: BoolArray, left: BoolArray,
                         spacing: tuple[float, float]) -> list[Nodule]:
    """Nodular-opacity candidates: compact bright blobs inside the lung fields of a bright=dense view.

    A difference of Gaussians (σ ≈ 2 mm minus σ ≈ 10 mm) keeps structures a few mm to ~2 cm wide;
    pixels above the 99.5th percentile within the lungs seed regions grown down to half that level.
    Components of at least :data:`MIN_NODULE_DIAMETER_MM` are returned with their elongation;
    whether they are reported is decided by :func:`inference.plausibility.nodule_checks` (round,
    off the hilum, contrasted against the surrounding lung, of plausible size). Needs the true pixel
    spacing: the scales are in mm.
    """
    lungs = right | left
    if not lungs.any():
        return []
    px = float(np.mean(spacing))
    dog = ndimage.gaussian_filter(view, 2.0 / px) - ndimage.gaussian_filter(view, 10.0 / px)
    inside = dog[lungs]
    high = max(float(np.percentile(inside, 99.5)), 3.0 * float(inside.std()))
    labels, n = ndimage.label((dog > 0.5 * high) & lungs)  # hysteresis: grow seeds to half the seed level
    seeded = np.unique(labels[(dog > high) & lungs])
    labels[~np.isin(labels, seeded[seeded > 0])] = 0
    found = []
    for c in range(1, n + 1):
        comp = labels == c
        area_mm2 = comp.sum() * spacing[0] * spacing[1]
        diameter = float(2.0 * np.sqrt(area_mm2 / np.pi))
        if diameter < MIN_NODULE_DIAMETER_MM:
            continue
        side = "right" if (comp & right).sum() >= (comp & left).sum() else "left"
        found.append(Nodule(comp, diameter, side, _zone(comp, right if side == "right" else left),
                            elongation=_elongation(np.argwhere(comp) * np.asarray(spacing))))
    return sorted(found, key=lambda n: -n.diameter_mm)


def sclerotic_foci(hu: np.ndarray, bones: BoolArray, spacing: tuple[float, ...],
                   min_ml: float = 0.5) -> list[BoolArray]:
    """Components of bone above :data:`SCLEROTIC_HU` of at least ``min_ml`` (focal high density)."""
    min_vox = max(1, int(np.ceil(min_ml * 1000.0 / float(np.prod(spacing)))))
    return components(bones & (hu > SCLEROTIC_HU), min_vox)


def vertebral_trabecular(hu: np.ndarray, bones: BoolArray, body: BoolArray | None,
                         spacing: tuple[float, float, float]) -> tuple[BoolArray, float] | None:
    """The vertebral bodies' trabecular core and its median HU (opportunistic density screening).

    Vertebrae = bone within 15 mm of the midline column (the body's, else the bones') in the
    posterior half; the core drops 3 mm of cortex in-plane. Medians below
    :data:`LOW_TRABECULAR_HU` suggest low bone density (a screening hint, not a DXA result).
    """
    from inference.segmenters._morphology import IN_PLANE

    ref = body if body is not None and body.any() else bones
    if not bones.any():
        return None
    pts = np.argwhere(ref)
    mid_col, mid_row = float(np.median(pts[:, 2])), float(np.median(pts[:, 1]))
    cols = np.abs(np.arange(bones.shape[2]) - mid_col) * spacing[2] <= 15.0
    rows = np.arange(bones.shape[1]) > mid_row
    spine = bones & cols[None, None, :] & rows[None, :, None]
    core = ndimage.binary_erosion(spine, structure=IN_PLANE,
                                  iterations=max(1, int(np.ceil(3.0 / min(spacing[1], spacing[2])))))
    if core.sum() < 10:
        return None
    return core, float(np.median(hu[core]))
