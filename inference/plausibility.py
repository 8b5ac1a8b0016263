"""Plausibility checks that gate every measured sentence of the built-in CXR draft.

Each check is a pure function of masks (and numbers measured on them) returning :class:`Check`
records; the limits are data (:data:`LIMITS`, copied into the draft's ``generation_params``). The
built-in generator states a number only when every check it depends on passed, and otherwise
writes "not assessed by the built-in generator" with the first failed check's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

BoolArray = npt.NDArray[np.bool_]

LIMITS: dict[str, float | tuple[float, float]] = {
    "lung_min_area_fraction": 0.03,  # each lung field ≥ 3% of the image
    "lung_area_ratio_right_to_left": (0.5, 2.0),  # normal ≈ 1.1 (the heart takes room on the left)
    "lung_aspect_height_to_width": (0.8, 4.0),
    "lung_min_fill_of_box": 0.4,  # area ÷ bounding-box area
    "lung_min_vertical_overlap": 0.5,  # of the shorter lung's height
    "lung_max_outside_body": 0.05,  # fraction of lung pixels outside the body outline
    "lung_edge_margin_fraction": 0.01,  # lungs touching the image edge (± this) are cut off or leaked
    "ctr": (0.3, 0.8),
    "ctr_max_spread": 0.05,  # re-measured at another scale and grey curves, the CTR moves less than this
    "heart_min_depth_fraction": 0.25,  # the heart reaches the lowest quarter of the lung fields
    "nodule_min_inside_lung": 0.9,
    "nodule_max_elongation": 2.0,
    "nodule_min_contrast_sd": 2.0,  # candidate mean − ring mean ≥ 2 ring SDs
    "nodule_diameter_mm": (4.0, 30.0),
    "nodule_hilar_fraction": 0.3,  # centroid in the medial 30% of the lung row, middle third: hilum
    "max_nodules": 5.0,
}


@dataclass(frozen=True)
class Check:
    """One plausibility check.

    Attributes:
        name: Short identifier (``both_lungs``, ``ctr_range``…).
        passed: Whether the measurement may be reported.
        reason: Why it failed, as a clause for a report sentence (empty when passed).
    """

    name: str
    passed: bool
    reason: str = ""


def first_failure(checks: Sequence[Check]) -> str | None:
    """The reason of the first failed check, or ``None`` when all passed."""
    return next((c.reason for c in checks if not c.passed), None)


def _range(name: str) -> tuple[float, float]:
    value = LIMITS[name]
    assert isinstance(value, tuple)
    return value


def _limit(name: str) -> float:
    value = LIMITS[name]
    assert not isinstance(value, tuple)
    return float(value)


def _rows(mask: BoolArray) -> tuple[int, int]:
    idx = np.flatnonzero(mask.any(axis=1))
    return int(idx[0]), int(idx[-1]) + 1


def _cols(mask: BoolArray) -> tuple[int, int]:
    idx = np.flatnonzero(mask.any(axis=0))
    return int(idx[0]), int(idx[-1]) + 1


def lung_checks(right: BoolArray | None, left: BoolArray | None,
                body: BoolArray | None = None) -> list[Check]:
    """Both lungs present and shaped like lungs, in plausible proportion, inside the thorax.

    Args:
        right: Patient-right lung field mask (image left on a PA/AP display).
        left: Patient-left lung field mask.
        body: The body outline, when known.
    """
    if right is None or left is None or not right.any() or not left.any():
        missing = [s for s, m in (("right", right), ("left", left)) if m is None or not m.any()]
        return [Check("both_lungs", False, f"no {' or '.join(missing)} lung field was found")]
    area = right.size
    checks = [Check("both_lungs", True)]
    for side, lung in (("right", right), ("left", left)):
        frac = lung.sum() / area
        checks.append(Check(f"{side}_lung_size", frac >= _limit("lung_min_area_fraction"),
                            f"the {side} lung field covers only {100 * frac:.1f}% of the image"))
    ratio = right.sum() / left.sum()
    lo, hi = _range("lung_area_ratio_right_to_left")
    checks.append(Check("lung_area_ratio", lo <= ratio <= hi,
                        f"the right/left lung field area ratio is {ratio:.2f}, outside {lo}–{hi}"))
    for side, lung in (("right", right), ("left", left)):
        (r0, r1), (c0, c1) = _rows(lung), _cols(lung)
        aspect = (r1 - r0) / max(c1 - c0, 1)
        alo, ahi = _range("lung_aspect_height_to_width")
        checks.append(Check(f"{side}_lung_shape", alo <= aspect <= ahi,
                            f"the {side} lung field is {aspect:.1f} times as high as wide, "
                            f"outside {alo}–{ahi}"))
        fill = lung.sum() / ((r1 - r0) * (c1 - c0))
        checks.append(Check(f"{side}_lung_fill", fill >= _limit("lung_min_fill_of_box"),
                            f"the {side} lung field fills only {100 * fill:.0f}% of its bounding box"))
    checks.append(_side_by_side(right, left))
    checks.append(_within_thorax(right | left, body))
    return checks


def _side_by_side(right: BoolArray, left: BoolArray) -> Check:
    """The two lung fields do not overlap, lie side by side and share most of their height."""
    (a0, a1), (b0, b1) = _rows(right), _rows(left)
    overlap = max(0, min(a1, b1) - max(a0, b0)) / max(1, min(a1 - a0, b1 - b0))
    ok = not (right & left).any() and overlap >= _limit("lung_min_vertical_overlap")
    return Check("lungs_side_by_side", ok, "the two lung fields do not lie side by side at the same height")


def _within_thorax(lungs: BoolArray, body: BoolArray | None) -> Check:
    """Lung fields stay off the image edge and (when known) inside the body outline."""
    rows, cols = lungs.shape
    m = max(1, int(_limit("lung_edge_margin_fraction") * max(rows, cols)))
    (r0, r1), (c0, c1) = _rows(lungs), _cols(lungs)
    if r0 < m or c0 < m or r1 > rows - m or c1 > cols - m:
        return Check("lungs_within_thorax", False, "a lung field reaches the image edge (cut off, or leaked "
                     "into the air outside the body)")
    if body is not None and body.any():
        outside = (lungs & ~body).sum() / lungs.sum()
        if outside > _limit("lung_max_outside_body"):
            return Check("lungs_within_thorax", False,
                         f"{100 * outside:.0f}% of the lung fields lie outside the body outline")
    return Check("lungs_within_thorax", True)


def heart_checks(heart: BoolArray | None, right: BoolArray, left: BoolArray, ctr: float) -> list[Check]:
    """The heart lies between the lungs, its widest row is outlined by both, and the CTR is in range."""
    if heart is None or not heart.any():
        return [Check("heart_found", False, "no cardiac silhouette was outlined between the lung fields")]
    checks = [Check("heart_found", True)]
    col = np.argwhere(heart)[:, 1].mean()
    a, b = sorted((np.argwhere(right)[:, 1].mean(), np.argwhere(left)[:, 1].mean()))
    between = a < col < b
    checks.append(Check("heart_between_lungs", bool(between),
                        "the cardiac silhouette is not between the lungs"))
    lung_top, lung_bottom = _rows(right | left)
    low = lung_bottom - _limit("heart_min_depth_fraction") * (lung_bottom - lung_top)
    checks.append(Check("heart_base_outlined", _rows(heart)[1] >= low,
                        "the cardiac silhouette stops above the lower quarter of the lung fields: its lower "
                        "border was not outlined, so its width is unknown"))
    lo, hi = _range("ctr")
    checks.append(Check("ctr_range", bool(np.isfinite(ctr)) and lo <= ctr <= hi,
                        f"the cardiothoracic ratio measured {ctr:.2f}, outside the plausible {lo}–{hi}"))
    return checks


def ctr_stability(ctr: float, others: Sequence[float]) -> Check:
    """The CTR re-measured under nuisance changes (scale, grey curve) stays within ``ctr_max_spread``.

    Args:
        ctr: The reported ratio.
        others: The same ratio from re-segmentations; NaN where no heart was outlined.
    """
    values = [ctr, *others]
    finite = [v for v in values if np.isfinite(v)]
    spread = max(finite) - min(finite) if finite else float("inf")
    ok = len(finite) == len(values) and spread <= _limit("ctr_max_spread") + 1e-9
    shown = "–".join(f"{v:.2f}" for v in (min(finite), max(finite))) if finite else "none"
    return Check("ctr_stable", ok, f"the cardiothoracic ratio is unstable: {shown} when the outline is "
                 "re-measured at another scale and grey curve")


def hilar_zone(lung: BoolArray, other: BoolArray) -> BoolArray:
    """The medial :data:`LIMITS` ``nodule_hilar_fraction`` of each row of a lung, in its middle third.

    Args:
        lung: One lung field.
        other: The other lung field (its side tells which edge of ``lung`` is medial).
    """
    medial_is_right = np.argwhere(lung)[:, 1].mean() < np.argwhere(other)[:, 1].mean()
    out = np.zeros_like(lung)
    r0, r1 = _rows(lung)
    frac = _limit("nodule_hilar_fraction")
    for r in range(r0 + (r1 - r0) // 3, r0 + 2 * (r1 - r0) // 3):
        cols = np.flatnonzero(lung[r])
        if not cols.size:
            continue
        width = int(np.ceil(frac * (cols[-1] - cols[0] + 1)))
        if medial_is_right:
            out[r, cols[-1] - width + 1 : cols[-1] + 1] = True
        else:
            out[r, cols[0] : cols[0] + width] = True
    return out & lung


def nodule_checks(candidate: BoolArray, view: npt.NDArray[np.float64], lung: BoolArray, hilum: BoolArray,
                  diameter_mm: float, elongation: float) -> list[Check]:
    """A nodule candidate: inside its lung field, off the hilum, round, contrasted, of plausible size."""
    inside = (candidate & lung).sum() / max(1, candidate.sum())
    centre = tuple(round(float(v)) for v in np.argwhere(candidate).mean(axis=0))
    lo, hi = _range("nodule_diameter_mm")
    checks = [
        Check("nodule_in_lung", inside >= _limit("nodule_min_inside_lung"), "it is not inside a lung field"),
        Check("nodule_off_hilum", not bool(hilum[centre]), "it lies on the hilum"),
        Check("nodule_round", elongation <= _limit("nodule_max_elongation"), "it is not round"),
        Check("nodule_size", lo <= diameter_mm <= hi, f"its size is outside {lo:.0f}–{hi:.0f} mm"),
    ]
    r = max(2, int(np.sqrt(candidate.sum() / np.pi)))
    ring = ndimage.binary_dilation(candidate, iterations=r) & ~candidate & lung
    if ring.sum() < 4:
        checks.append(Check("nodule_contrast", False, "it has no lung around it to compare with"))
    else:
        contrast = (view[candidate].mean() - view[ring].mean()) / max(float(view[ring].std()), 1e-6)
        checks.append(Check("nodule_contrast", contrast >= _limit("nodule_min_contrast_sd"),
                            "it does not stand out from the surrounding lung"))
    return checks
