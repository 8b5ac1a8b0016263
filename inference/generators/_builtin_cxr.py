"""The built-in generator's chest-radiograph sentences: lungs, nodules, heart and outlines."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from inference import measure
from inference.generators._builtin_writer import CTR_BORDERLINE, BoolArray, HeartWords, _mask, _Writer
from inference.protocols import RegionMask
from viewer.records import Image

NOT_ASSESSED = "not assessed by the built-in generator"
_CXR_OUTLINES = (
    ("pleura", "Pleural margins are outlined; {na}.", "Pleural margins"),
    ("mediastinum", "Mediastinum is outlined above the heart; {na}.", "Mediastinum"),
    ("airway", "Expected position of the trachea is marked; {na}.", "trachea"),
    ("diaphragm", "Diaphragm is outlined below the lung bases; {na}.", "Diaphragm"),
    ("bones", "Rib outlines are marked; {na}.", "Rib outlines"),
    ("soft tissues", "Soft tissues are outlined; {na}.", "Soft tissues"),
)
_ENLARGED = HeartWords(
    "The cardiac silhouette is enlarged", "Enlarged cardiac silhouette", "cardiac silhouette")
_CXR_UNMEASURED = {"support devices": "support devices", "other": "other findings"}


def _write_cxr(w: _Writer, image: Image, masks: Mapping[str, RegionMask]) -> None:
    """Lungs, heart and outlines, each number gated by :mod:`inference.plausibility`.

    When the lung fields fail a check nothing that depends on them is measured or outlined; every
    CXR section gets a sentence, "not assessed by the built-in generator" with the reason where
    nothing was measured. Sizes are in mm/cm² only with a known pixel spacing, else in px.
    """
    from inference import plausibility

    w.params["cxr_plausibility"] = {k: list(v) if isinstance(v, tuple) else v
                                    for k, v in plausibility.LIMITS.items()}
    w.params["cardiothoracic_ratio_borderline_within"] = CTR_BORDERLINE
    w.params["cardiothoracic_ratio_remeasured_at"] = [list(v) for v in CTR_REMEASURE]
    right, left = _mask(masks, "lungs", "right"), _mask(masks, "lungs", "left")
    failure = plausibility.first_failure(plausibility.lung_checks(right, left, _mask(masks, "body")))
    why = None if failure is None else f"lung segmentation failed its plausibility check: {failure}"
    if image.view == "LATERAL":
        why = "the built-in measurements are for frontal (PA/AP) radiographs and this one is lateral"
    if why is not None:
        w.add("lungs", f"Lung fields: {NOT_ASSESSED} ({why}).")
        w.refused = f"Nothing was measured by the built-in generator: {why}."
        for region in ("pleura", "heart", "mediastinum", "airway", "diaphragm", "bones", "soft tissues"):
            w.add(region, f"{region.capitalize()}: {NOT_ASSESSED} (it depends on the lung fields, which "
                  "were not assessed).")
    else:
        assert right is not None and left is not None
        _cxr_lungs(w, image, right, left)
        _cxr_heart(w, image, masks, right, left)
        for region, text, phrase in _CXR_OUTLINES:
            m = _mask(masks, region)
            if m is not None and m.any():
                w.add(region, text.format(na=NOT_ASSESSED), {phrase: m})
            else:
                w.add(region, f"{region.capitalize()}: {NOT_ASSESSED} (not outlined by the segmenter).")
    for region, name in _CXR_UNMEASURED.items():
        w.add(region, f"The built-in generator does not look for {name}; {NOT_ASSESSED}.")


def _cxr_lungs(w: _Writer, image: Image, right: BoolArray, left: BoolArray) -> None:
    if image.spacing_mm:
        spacing = tuple(float(s) for s in image.spacing_mm)
        areas = [f"{measure.volume_ml(m, spacing):.0f} cm²" for m in (right, left)]
    else:
        areas = [f"{int(m.sum())} px (pixel spacing unknown)" for m in (right, left)]
    w.add("lungs", f"Right lung field {areas[0]}, left lung field {areas[1]}.",
          {"Right lung field": right, "left lung field": left})
    _cxr_nodules(w, image, right, left)


def _cxr_nodules(w: _Writer, image: Image, right: BoolArray, left: BoolArray) -> None:
    """Nodular opacities that pass every candidate check, or why none are reported."""
    from inference import plausibility
    from inference.segmenters.cxr import dense_view

    if not image.spacing_mm:
        w.add("lungs", "The built-in generator did not search for nodular opacities: the pixel spacing is "
              f"unknown, so size limits in mm cannot be applied; {NOT_ASSESSED}.")
        w.unassessed.append("nodules (pixel spacing unknown)")
        return
    kept = _checked_nodules(dense_view(image), right, left,
                            (float(image.spacing_mm[0]), float(image.spacing_mm[1])))
    cap = int(plausibility.LIMITS["max_nodules"])  # type: ignore[arg-type]
    if len(kept) > cap:
        w.add("lungs", f"The built-in generator does not report nodular opacities here: {len(kept)} "
              f"candidates passed its checks, more than the {cap} its classical detector can be trusted "
              f"with; {NOT_ASSESSED}.")
        w.unassessed.append("nodules (too many candidates)")
        return
    if not kept:
        lo, hi = plausibility.LIMITS["nodule_diameter_mm"]  # type: ignore[misc]
        w.add("lungs", f"The built-in classical detector found no nodular opacity of {lo:.0f}–{hi:.0f} mm "
              "that passed its checks; this does not exclude nodules (it misses most of them on real "
              "radiographs).")
    for n in kept:
        phrase = f"{n.diameter_mm:.0f} mm nodular opacity"
        w.add("lungs", f"A {phrase} in the {n.side} {n.zone} zone.", {phrase: n.mask})
        w.positives.append(f"{n.diameter_mm:.0f} mm nodular opacity in the {n.side} {n.zone} zone.")


def _checked_nodules(view: np.ndarray, right: BoolArray, left: BoolArray,
                     spacing: tuple[float, float]) -> list[measure.Nodule]:
    """Nodule candidates that pass every :func:`inference.plausibility.nodule_checks`, full-size masks.

    Searched on a copy subsampled to about 0.5 mm per pixel (the finest filter is σ = 2 mm).
    """
    from scipy import ndimage

    from inference import plausibility
    from inference.segmenters._morphology import upsample_nearest

    f = max(1, int(0.5 / max(spacing)))
    small = ndimage.gaussian_filter(view, f / 2)[::f, ::f] if f > 1 else view
    r, lt = right[::f, ::f], left[::f, ::f]
    hila = plausibility.hilar_zone(r, lt) | plausibility.hilar_zone(lt, r)
    kept = []
    for n in measure.nodular_opacities_2d(small, r, lt, (spacing[0] * f, spacing[1] * f)):
        lung = r if n.side == "right" else lt
        checks = plausibility.nodule_checks(n.mask, small, lung, hila, n.diameter_mm, n.elongation)
        if plausibility.first_failure(checks) is None:
            big = upsample_nearest(n.mask, (f, f), view.shape) & (right | left)
            kept.append(dataclasses.replace(n, mask=big))
    return kept


CTR_REMEASURE = ((448, 1.0), (512, 0.6), (512, 1.6))  # (work size, grey-curve power) for cxr-classical


def _from_cxr_classical(masks: Mapping[str, RegionMask], region: str) -> bool:
    from inference.segmenters.cxr import METHODS

    return region in masks and masks[region].method == METHODS[region]


def _ctr_remeasured(image: Image) -> list[float]:
    """The CTR from ``cxr-classical`` re-run at another scale and two grey curves (NaN: no heart)."""
    from inference.segmenters.cxr import CXRClassicalSegmenter

    out = []
    for size, gamma in CTR_REMEASURE:
        masks = CXRClassicalSegmenter(work_size=size, gamma=gamma).segment(image).masks
        heart, lungs = _mask(masks, "heart"), _mask(masks, "lungs")
        out.append(float("nan") if heart is None or lungs is None
                   else round(measure.cardiothoracic_ratio_2d(heart, lungs), 2))
    return out


def _cxr_heart(w: _Writer, image: Image, masks: Mapping[str, RegionMask], right: BoolArray,
               left: BoolArray) -> None:
    from inference import plausibility

    heart = _mask(masks, "heart")
    # a ratio: the same with or without pixel spacing (columns are isotropic enough on a radiograph)
    ctr = float("nan") if heart is None else round(measure.cardiothoracic_ratio_2d(heart, right | left), 2)
    checks = plausibility.heart_checks(heart, right, left, ctr)
    if plausibility.first_failure(checks) is None and _from_cxr_classical(masks, "heart"):
        checks.append(plausibility.ctr_stability(ctr, _ctr_remeasured(image)))
    failure = plausibility.first_failure(checks)
    if failure is not None:
        w.add("heart", f"Heart size: {NOT_ASSESSED} ({failure}).")
        w.unassessed.append("heart size")
        return
    assert heart is not None
    caveat = "; AP projection magnifies the heart" if image.view == "AP" else ""
    w.heart(ctr, heart, "cardiothoracic ratio", _ENLARGED, caveat=caveat, borderline=CTR_BORDERLINE)
