"""``threshold-ct``: classical chest-CT segmentation from Hounsfield units and geometry.

Gives every Reg2RG region (DESIGN §4) a mask on a chest CT in canonical SPL layout
(``[k, i, j]``: k → superior, i → posterior, j → patient left). Body, lungs, airway and bones come
from HU thresholds and connected components; heart, mediastinum, esophagus, pleura, abdomen,
thyroid and breasts are geometric approximations relative to those. Every mask is labelled
``approximate=True``. Volumes wider than ``max_inplane`` voxels or longer than ``max_slices`` are
processed on a strided grid and the masks upsampled (nearest neighbour) to the input shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from inference.protocols import RegionMask, SegmentationResult
from inference.segmenters._input import require_ndim
from inference.segmenters._morphology import (
    IN_PLANE,
    convex_hull_2d,
    fill_holes_in_plane,
    keep_large_components,
    upsample_many,
)
from viewer.records import Image

BoolArray = npt.NDArray[np.bool_]

THRESHOLDS_HU = {"body": -500.0, "air": -400.0, "bone": 200.0, "fluid_low": -10.0, "fluid_high": 30.0,
                 "thyroid": 60.0}
METHODS = {
    "body": "HU > -500, largest component, holes filled per slice",
    "lungs": "air (HU < -400) inside the body minus the tracked airway; holes filled; split left/right",
    "trachea and bronchi": "air tracked slice by slice from the top, near the midline, down to the lungs",
    "bones": "HU > 200 (3x3 in-plane mean) inside the body, components >= 0.3 mL, rings filled",
    "pleura": "6 mm shell around the lungs plus fluid-density (-10..+30 HU) voxels adjacent to them",
    "mediastinum": "per-slice convex hull of both lungs minus lungs, bones and pleural fluid",
    "heart": "soft tissue of the mediastinum below the carina, >= 30 mm anterior to the vertebrae",
    "esophagus": "10 mm disc midway between trachea and vertebral body, thoracic inlet to diaphragm",
    "thyroid": "HU > 60 soft tissue anterior to the trachea around the lung apices",
    "breasts": "body anterior to the rib line by > 20 mm, only where protruding > 25 mm",
    "abdomen": "body below the diaphragm surface (lowest lung voxel per column), heart excluded",
}


@dataclass(frozen=True)
class _Vol:
    """The working grid: HU, its in-plane smoothed copy and the voxel spacing in mm."""

    hu: npt.NDArray[np.float32]
    smooth: npt.NDArray[np.float32]
    spacing: tuple[float, float, float]

    def vox(self, mm: float, axis: int) -> int:
        return max(1, round(mm / self.spacing[axis]))

    @property
    def voxel_ml(self) -> float:
        return float(np.prod(self.spacing)) / 1000.0


class ThresholdCTSegmenter:
    """HU/geometry segmenter for chest CT (see module docstring).

    Args:
        max_inplane: Largest in-plane size processed at full resolution.
        max_slices: Largest number of slices processed at full resolution.
    """

    name = "threshold-ct"

    def __init__(self, max_inplane: int = 192, max_slices: int = 160) -> None:
        self.max_inplane = max_inplane
        self.max_slices = max_slices

    def segment(self, image: Image) -> SegmentationResult:
        """Segment a CT volume (SPL, HU) into the 10 CT regions plus ``body``.

        Raises:
            ValueError: for a 2D image (use ``cxr-classical``).
        """
        require_ndim(image, 3, self.name, "cxr-classical")
        spacing = tuple(float(s) for s in (image.spacing_mm or (1.0, 1.0, 1.0)))
        factors = (max(1, -(-image.shape[0] // self.max_slices)),
                   *(max(1, -(-n // self.max_inplane)) for n in image.shape[1:]))
        hu = np.asarray(image.pixels[:: factors[0], :: factors[1], :: factors[2]], dtype=np.float32)
        vol = _Vol(hu, ndimage.uniform_filter(hu, size=(1, 3, 3)),
                   tuple(s * f for s, f in zip(spacing, factors, strict=True)))  # type: ignore[arg-type]
        small = segment_volume(vol)
        flat = {region: mask for region, (mask, _) in small.items()}
        flat |= {f"{region}:{k}": v for region, (_, parts) in small.items() for k, v in parts.items()}
        full = upsample_many(flat, factors, image.shape)
        masks = {}
        for region, (_, parts) in small.items():
            masks[region] = RegionMask(region, full[region], approximate=True, method=METHODS[region],
                                       parts={k: full[f"{region}:{k}"] for k in parts})
        return SegmentationResult(self.name, masks, method=__doc__.splitlines()[0] if __doc__ else "",
                                  shape=image.shape)


def segment_volume(vol: _Vol) -> dict[str, tuple[BoolArray, dict[str, BoolArray]]]:
    """Run every rule on the working grid; returns region → (mask, named parts)."""
    body = _body(vol)
    inside = ndimage.binary_erosion(body, structure=IN_PLANE, iterations=2)  # skip the skin's partial volume
    air = (vol.smooth < THRESHOLDS_HU["air"]) & inside
    airway, carina_k = _airway(air, vol)
    right, left = _lungs(air & ~airway, body, vol)
    lungs = right | left
    bones = _bones(body, vol)
    effusion = _pleural_fluid(lungs, body, bones, vol)
    pleura = _pleura(lungs, body, bones, vol) | effusion
    mediastinum = _mediastinum(lungs, body, bones | effusion)
    mid_col, spine_row = _landmarks(body, bones, vol)
    below = _below_diaphragm(lungs, vol.spacing[0])
    heart = _heart(mediastinum & ~below, carina_k, spine_row, vol)
    out: dict[str, tuple[BoolArray, dict[str, BoolArray]]] = {
        "body": (body, {}),
        "lungs": (lungs, {"right": right, "left": left}),
        "trachea and bronchi": (airway, {}),
        "bones": (bones, {}),
        "pleura": (pleura, {"effusion": effusion}),
        "mediastinum": (mediastinum, {}),
        "heart": (heart, {}),
        "esophagus": (_esophagus(airway, lungs, bones, body, mid_col, spine_row, vol), {}),
        "thyroid": (_thyroid(airway, lungs, bones, body, vol), {}),
        "breasts": (_breasts(body, lungs, bones, mid_col, vol), {}),
        "abdomen": (body & below & ~bones & ~heart & ~lungs, {}),
    }
    return {k: v for k, v in out.items() if v[0].any()}


def _body(vol: _Vol) -> BoolArray:
    body = keep_large_components(vol.smooth > THRESHOLDS_HU["body"], max_count=1)
    return fill_holes_in_plane(body)


def _airway(air: BoolArray, vol: _Vol) -> tuple[BoolArray, int]:
    """Track the trachea from the top slice down; returns the airway and the carina slice index."""
    airway = np.zeros_like(air)
    max_area = vol.vox(40.0, 1) * vol.vox(40.0, 2)  # larger 2D components are lung
    centre = air.shape[2] / 2.0
    min_seed = max(2, round(50.0 / (vol.spacing[1] * vol.spacing[2])))  # >= 50 mm² (trachea ~250)
    previous: BoolArray | None = None
    carina = 0
    for k in range(air.shape[0] - 1, -1, -1):
        labels, n = ndimage.label(air[k])
        if n == 0:
            if previous is not None and previous.any():
                break
            continue
        sizes = np.bincount(labels.ravel())
        keep = np.zeros(n + 1, dtype=bool)
        for c in range(1, n + 1):
            if sizes[c] > max_area:
                continue
            comp = labels == c
            if previous is None or not previous.any():
                keep[c] = (sizes[c] >= min_seed
                           and abs(np.argwhere(comp)[:, 1].mean() - centre) < vol.vox(30.0, 2))
            else:
                keep[c] = bool((comp & ndimage.binary_dilation(previous, iterations=2)).any())
        current = keep[labels]
        if previous is not None and previous.any() and not current.any():
            break
        if current.any():
            airway[k] = current
            if ndimage.label(current)[1] >= 2 and carina == 0:
                carina = k + 1
            previous = current
    if carina == 0 and airway.any():
        carina = int(np.flatnonzero(airway.any(axis=(1, 2)))[0])
    return airway, carina


def _lungs(lung_air: BoolArray, body: BoolArray, vol: _Vol) -> tuple[BoolArray, BoolArray]:
    """Right and left lungs (holes filled per slice)."""
    min_vox = int(20.0 / vol.voxel_ml)
    lungs = keep_large_components(lung_air, min_fraction=0.1, min_voxels=min_vox, max_count=2)
    labels, n = ndimage.label(lungs)
    if n == 2:
        cols = [np.argwhere(labels == c)[:, 2].mean() for c in (1, 2)]
        left_label = 1 + int(np.argmax(cols))
        left, right = labels == left_label, (labels > 0) & (labels != left_label)
    else:  # one merged component: split at the body's midline column, slice by slice
        columns = np.arange(lungs.shape[2])
        mid = np.array([np.argwhere(body[k])[:, 1].mean() if body[k].any() else lungs.shape[2] / 2
                        for k in range(lungs.shape[0])])
        left = lungs & (columns[None, None, :] >= mid[:, None, None])
        right = lungs & ~left
    return fill_holes_in_plane(right), fill_holes_in_plane(left)


def _bones(body: BoolArray, vol: _Vol) -> BoolArray:
    bones = (vol.smooth > THRESHOLDS_HU["bone"]) & body
    bones = keep_large_components(bones, min_voxels=max(1, int(0.3 / vol.voxel_ml)))
    return fill_holes_in_plane(bones)  # low-density marrow inside a cortical ring is bone too


def _pleural_fluid(lungs: BoolArray, body: BoolArray, bones: BoolArray, vol: _Vol) -> BoolArray:
    """Fluid-density voxels in contact with the lungs (a pleural effusion candidate)."""
    smooth3 = ndimage.uniform_filter(vol.hu, size=3)
    fluid = ((smooth3 >= THRESHOLDS_HU["fluid_low"]) & (smooth3 <= THRESHOLDS_HU["fluid_high"])
             & body & ~lungs & ~bones)
    core = ndimage.binary_erosion(fluid)
    touching = ndimage.binary_dilation(lungs, iterations=4)
    labels, n = ndimage.label(core)
    if n == 0:
        return np.zeros_like(lungs)
    hit = np.unique(labels[touching & (labels > 0)])
    sizes = np.bincount(labels.ravel())
    keep = [c for c in hit if sizes[c] * vol.voxel_ml >= 2.0]
    return np.asarray(ndimage.binary_propagation(np.isin(labels, keep), mask=fluid), dtype=bool)


def _pleura(lungs: BoolArray, body: BoolArray, bones: BoolArray, vol: _Vol) -> BoolArray:
    dist = ndimage.distance_transform_edt(~lungs, sampling=vol.spacing)
    return np.asarray((dist > 0) & (dist <= 6.0) & body & ~bones, dtype=bool)


def _lung_slices(lungs: BoolArray) -> npt.NDArray[np.intp]:
    return np.flatnonzero(lungs.any(axis=(1, 2)))


def _mediastinum(lungs: BoolArray, body: BoolArray, exclude: BoolArray) -> BoolArray:
    out = np.zeros_like(lungs)
    for k in _lung_slices(lungs):
        out[k] = convex_hull_2d(lungs[k])
    return out & body & ~lungs & ~exclude


def _landmarks(body: BoolArray, bones: BoolArray, vol: _Vol) -> tuple[float, float]:
    """The midline column and the row of the vertebral bodies' anterior edge (medians over slices)."""
    mid_col = float(np.median(np.argwhere(body)[:, 2])) if body.any() else body.shape[2] / 2.0
    band = vol.vox(15.0, 2)
    c0, c1 = int(mid_col) - band, int(mid_col) + band + 1
    centre_row = float(np.median(np.argwhere(body)[:, 1])) if body.any() else body.shape[1] / 2.0
    fronts = []
    for k in range(bones.shape[0]):
        rows = np.flatnonzero(bones[k, :, c0:c1].any(axis=1))
        rows = rows[rows > centre_row]
        if rows.size:
            fronts.append(rows[0])
    spine_row = float(np.median(fronts)) if fronts else float(body.shape[1])
    return mid_col, spine_row


def _heart(mediastinum: BoolArray, carina_k: int, spine_row: float, vol: _Vol) -> BoolArray:
    rows = np.arange(mediastinum.shape[1])
    anterior = rows < spine_row - 30.0 / vol.spacing[1]
    cand = mediastinum & anterior[None, :, None] & (vol.smooth > 0.0) & (vol.smooth < 400.0)
    if carina_k > 0:
        cand[carina_k:] = False
    cand = ndimage.binary_opening(cand, structure=np.ones((1, 3, 3), dtype=bool), iterations=2)
    return keep_large_components(cand, max_count=1)


def _trachea_centres(airway: BoolArray) -> dict[int, tuple[float, float]]:
    """Per-slice centre (row, col) of the airway where it is a single tube."""
    centres = {}
    for k in np.flatnonzero(airway.any(axis=(1, 2))):
        if ndimage.label(airway[k])[1] == 1:
            rc = np.argwhere(airway[k]).mean(axis=0)
            centres[int(k)] = (float(rc[0]), float(rc[1]))
    return centres


def _esophagus(airway: BoolArray, lungs: BoolArray, bones: BoolArray, body: BoolArray,
               mid_col: float, spine_row: float, vol: _Vol) -> BoolArray:
    out = np.zeros_like(airway)
    centres = _trachea_centres(airway)
    slices = _lung_slices(lungs)
    if not centres or not slices.size:
        return out
    lowest = min(centres)
    rr, cc = np.mgrid[0 : airway.shape[1], 0 : airway.shape[2]]
    radius = 10.0
    for k in range(int(slices[0]), max(centres) + 1):
        row_t, col_t = centres.get(k, centres[lowest])
        row_c = (row_t + spine_row) / 2.0
        col_c = col_t if k in centres else mid_col
        disc = (((rr - row_c) * vol.spacing[1]) ** 2 + ((cc - col_c) * vol.spacing[2]) ** 2) <= radius**2
        out[k] = disc
    return out & body & ~airway & ~lungs & ~bones


def _thyroid(airway: BoolArray, lungs: BoolArray, bones: BoolArray, body: BoolArray, vol: _Vol) -> BoolArray:
    out = np.zeros_like(airway)
    slices = _lung_slices(lungs)
    if not slices.size:
        return out
    apex = int(slices[-1])
    lo, hi = apex - vol.vox(25.0, 0), apex + vol.vox(60.0, 0)
    rr, cc = np.mgrid[0 : airway.shape[1], 0 : airway.shape[2]]
    for k, (row_t, col_t) in _trachea_centres(airway).items():
        if lo <= k <= hi:
            front = (rr < row_t) & (rr > row_t - 35.0 / vol.spacing[1])
            out[k] = front & (np.abs(cc - col_t) < 40.0 / vol.spacing[2])
    out &= (vol.smooth > THRESHOLDS_HU["thyroid"]) & (vol.smooth < THRESHOLDS_HU["bone"])
    out &= body & ~airway & ~lungs & ~bones
    return keep_large_components(out, min_voxels=max(1, int(1.0 / vol.voxel_ml)))


def _breasts(body: BoolArray, lungs: BoolArray, bones: BoolArray, mid_col: float, vol: _Vol) -> BoolArray:
    """Soft tissue protruding anterior to the rib line (absent when nothing protrudes > 25 mm)."""
    slices = _lung_slices(lungs)
    if not slices.size:
        return np.zeros_like(body)
    rows = np.arange(body.shape[1])
    big = body.shape[1]
    front = np.where(bones.any(axis=1), np.argmax(bones, axis=1), big).astype(np.float64)  # [k, j]
    front = ndimage.minimum_filter1d(front, size=2 * vol.vox(24.0, 0) + 1, axis=0)
    limit = front - 20.0 / vol.spacing[1]
    cand = body & (rows[None, :, None] < limit[:, None, :]) & (front[:, None, :] < big)
    cols = np.arange(body.shape[2])
    cand &= (np.abs(cols - mid_col) * vol.spacing[2] > 25.0)[None, None, :]
    keep = np.zeros(body.shape[0], dtype=bool)
    keep[slices[0] : slices[-1] + 1] = True
    cand &= keep[:, None, None]
    thickness = cand.sum(axis=1) * vol.spacing[1]
    if not (thickness > 25.0).any():
        return np.zeros_like(body)
    return keep_large_components(cand, min_voxels=max(1, int(10.0 / vol.voxel_ml)))


def _below_diaphragm(lungs: BoolArray, spacing_k: float) -> BoolArray:
    """Voxels below the diaphragm surface.

    The surface is the lowest lung voxel of each (row, col) column where that voxel lies within 35 mm
    of the lungs' lowest slice (so lung resting on the heart does not count); other columns
    take the value of the nearest valid column.
    """
    has_lung = lungs.any(axis=0)
    if not has_lung.any():
        return np.zeros_like(lungs)
    base = np.argmax(lungs, axis=0)
    valid = has_lung & (base <= base[has_lung].min() + 35.0 / spacing_k)
    _, (ri, ci) = ndimage.distance_transform_edt(~valid, return_indices=True)
    base = base[ri, ci]
    ks = np.arange(lungs.shape[0])
    return ks[:, None, None] < base[None, :, :]  # type: ignore[no-any-return]
