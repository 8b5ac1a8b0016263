"""``builtin``: the offline default generator — measurements on segmenter masks, templated text.

No AI model is involved. Each region of DESIGN §4 gets a section; every statement that refers to
a measured structure carries a phrase grounded (``source="segmenter"``) to the mask it was measured
on (``mask_ref`` = :func:`inference.artefacts.content_ref`) and that mask's bounding box. The text
is a deterministic function of the image and the masks.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from inference import measure
from inference.artefacts import content_ref, normalised_box
from inference.protocols import Progress, RegionMask, emit_stage, emit_text
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section, regions_for
from viewer.records import Image, Study

BoolArray = npt.NDArray[np.bool_]

CTR_ENLARGED = 0.5
CTR_BORDERLINE = 0.03  # CXR: within ±0.03 of 0.5 the classical outline cannot tell (7° of rotation does)
MIN_EFFUSION_ML = 5.0
PARAMS: dict[str, Any] = {
    "cardiothoracic_ratio_enlarged_above": CTR_ENLARGED,
    "fluid_hu": list(measure.FLUID_HU),
    "min_effusion_ml": MIN_EFFUSION_ML,
    "solid_nodule_hu_above": measure.SOLID_NODULE_HU,
    "min_nodule_diameter_mm": measure.MIN_NODULE_DIAMETER_MM,
    "max_nodule_elongation": measure.MAX_NODULE_ELONGATION,
    "nodule_search_pleural_margin_mm": measure.PLEURAL_MARGIN_MM,
    "sclerotic_hu_above": measure.SCLEROTIC_HU,
    "low_trabecular_hu_below": measure.LOW_TRABECULAR_HU,
}


@dataclass
class _Writer:
    """Collects findings per region and the masks their phrases point at."""

    artefacts: dict[str, np.ndarray] = field(default_factory=dict)
    sections: dict[str, list[Finding]] = field(default_factory=dict)
    positives: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    unassessed: list[str] = field(default_factory=list)
    refused: str = ""  # why nothing at all was measured (then the impression says so)

    def ground(self, mask: BoolArray) -> Grounding:
        ref = content_ref(mask)
        self.artefacts[ref] = mask
        box = normalised_box(mask)
        return Grounding(boxes=(box,) if box else (), mask_ref=ref, source="segmenter")

    def add(self, region: str, text: str, grounded: Mapping[str, BoolArray | None] | None = None) -> None:
        """Add a finding; each key of ``grounded`` is a substring of ``text`` grounded to its mask."""
        phrases = []
        for phrase, mask in (grounded or {}).items():
            start = text.find(phrase)
            if start < 0:
                raise ValueError(f"phrase {phrase!r} is not in {text!r}")
            grounding = self.ground(mask) if mask is not None and mask.any() else None
            phrases.append(Phrase(phrase, (start, start + len(phrase)), grounding))
        findings = self.sections.setdefault(region, [])
        slug = re.sub(r"[^a-z0-9]+", "-", region.lower()).strip("-")
        findings.append(Finding(id=f"{slug}-{len(findings) + 1}", region=region, text=text,
                                phrases=tuple(phrases)))

    def build(self, kind: str) -> tuple[Section, ...]:
        return tuple(Section(r, tuple(self.sections.get(r, ()))) for r in regions_for(kind))


def _mask(masks: Mapping[str, RegionMask], region: str, part: str | None = None) -> BoolArray | None:
    m = masks.get(region)
    if m is None:
        return None
    return m.parts.get(part) if part else m.mask


def _fmt_hu(value: float) -> str:
    return f"{value:.0f}".replace("-", "−")  # U+2212, the typographic minus used in reports


class BuiltinGenerator:
    """Offline, deterministic, measurement-based draft writer ("built-in, no AI model").

    Args:
        quantization: Accepted for CLI symmetry; only ``none`` is meaningful.
        model: Must be ``None``: the built-in generator has no model.
    """

    name = "builtin"

    def __init__(self, quantization: str = "none", model: str | None = None, **_: Any) -> None:
        if model:
            raise ValueError(f"the builtin generator has no model (got --model {model!r}); "
                             "use --generator hf for a model")
        if quantization not in ("none", None):
            raise ValueError(f"the builtin generator does not quantize (got {quantization!r}); use 'none'")

    def generate(self, study: Study, masks: Mapping[str, RegionMask], *,
                 progress: Progress | None = None) -> Draft:
        """Measure on ``masks`` (segmenting with the default segmenter when empty) and write the draft."""
        image = study.primary
        if not masks:
            from inference.registry import default_segmenter, get_segmenter

            emit_stage(progress, "segmenting")
            masks = get_segmenter(default_segmenter(study.kind)).segment(image).masks
        emit_stage(progress, "measuring")
        writer = _Writer()
        if study.kind == "ct":
            _write_ct(writer, image, masks)
        else:
            _write_cxr(writer, image, masks)
        sections = writer.build(study.kind)
        for s in sections:
            for f in s.findings:
                emit_text(progress, f.text + " ", s.region)
        impression = " ".join(writer.positives) or (
            "No abnormality detected by the built-in measurements (not a substitute for reading the images)."
            if any(s.findings for s in sections) and not writer.refused else
            writer.refused or
            "Nothing was measured: the segmentation has none of the regions the built-in measurements use.")
        if writer.unassessed:
            impression += f" The built-in generator did not assess {', '.join(writer.unassessed)}."
        provenance = Provenance(generator=self.name, model_id="built-in", quantization="none", device="cpu",
                                generation_params={**PARAMS, **writer.params}, label="built-in, no AI model")
        return Draft(case_id=study.case_id, sections=sections, impression=impression, provenance=provenance,
                     artefacts=writer.artefacts)


def _write_ct(w: _Writer, image: Image, masks: Mapping[str, RegionMask]) -> None:
    hu = image.pixels
    spacing = tuple(float(s) for s in (image.spacing_mm or (1.0, 1.0, 1.0)))
    _ct_simple(w, masks)
    _ct_bones(w, hu, spacing, masks)
    _ct_heart(w, spacing, masks)
    _ct_lungs(w, hu, spacing, masks)
    _ct_pleura(w, spacing, masks)
    _ct_thyroid(w, hu, masks)


def _ct_simple(w: _Writer, masks: Mapping[str, RegionMask]) -> None:
    """Regions that are located but not measured."""
    abdomen = _mask(masks, "abdomen")
    if abdomen is not None:
        w.add("abdomen", "Upper abdomen below the diaphragm is included; not assessed by the built-in "
              "measurements.", {"Upper abdomen": abdomen})
    breasts = _mask(masks, "breasts")
    if breasts is not None:
        w.add("breasts", "Breast tissue is present anterior to the chest wall; not assessed.",
              {"Breast tissue": breasts})
    elif "body" in masks:  # the segmenter looked at the whole body and found none
        w.add("breasts", "No breast tissue protrudes anterior to the chest wall.")
    for region, text, phrase in (
        ("esophagus", "Expected course of the esophagus is marked; not assessed.", "esophagus"),
        ("trachea and bronchi", "The trachea and main bronchi are air-filled.", "trachea and main bronchi"),
        ("mediastinum", "Mediastinum is outlined between the lungs; not assessed.", "Mediastinum"),
    ):
        m = _mask(masks, region)
        if m is not None:
            w.add(region, text, {phrase: m})


def _ct_bones(w: _Writer, hu: np.ndarray, spacing: tuple[float, ...],
              masks: Mapping[str, RegionMask]) -> None:
    bones = _mask(masks, "bones")
    if bones is None:
        return
    w.add("bones", f"Mean attenuation of the segmented bones is {_fmt_hu(measure.mean_value(hu, bones))} HU.",
          {"segmented bones": bones})
    _ct_vertebrae(w, hu, spacing, bones, _mask(masks, "body"))
    foci = measure.sclerotic_foci(hu, bones, spacing)
    if not foci:
        w.add("bones", f"No focal bone lesion denser than {measure.SCLEROTIC_HU:.0f} HU.")
    for focus in foci:
        text = f"Focal high-density bone lesion of {measure.volume_ml(focus, spacing):.1f} mL."
        w.add("bones", text, {"Focal high-density bone lesion": focus})
        w.positives.append(text)


def _ct_vertebrae(w: _Writer, hu: np.ndarray, spacing: tuple[float, ...], bones: BoolArray,
                  body: BoolArray | None) -> None:
    found = measure.vertebral_trabecular(hu, bones, body, spacing)  # type: ignore[arg-type]
    if found is None:
        return
    core, median = found
    if median < measure.LOW_TRABECULAR_HU:
        text = f"Low trabecular attenuation of the vertebral bodies (median {_fmt_hu(median)} HU)."
        w.positives.append(text)
    else:
        text = f"Median trabecular attenuation of the vertebral bodies is {_fmt_hu(median)} HU."
    w.add("bones", text, {"vertebral bodies": core})


def _ct_heart(w: _Writer, spacing: tuple[float, ...], masks: Mapping[str, RegionMask]) -> None:
    heart, lungs = _mask(masks, "heart"), _mask(masks, "lungs")
    if heart is None or lungs is None:
        return
    ctr = round(measure.cardiothoracic_ratio_ct(heart, lungs, spacing[2]), 2)  # decide on what is shown
    if ctr > CTR_ENLARGED:
        text = f"The heart is enlarged (axial cardiothoracic ratio {ctr:.2f})."
        w.positives.append(f"Cardiomegaly (axial cardiothoracic ratio {ctr:.2f}).")
    else:
        text = f"Heart size is normal (axial cardiothoracic ratio {ctr:.2f})."
    w.add("heart", text, {"heart" if "heart is" in text else "Heart size": heart})


def _ct_lungs(w: _Writer, hu: np.ndarray, spacing: tuple[float, ...],
              masks: Mapping[str, RegionMask]) -> None:
    right, left = _mask(masks, "lungs", "right"), _mask(masks, "lungs", "left")
    if right is None or left is None or not (right.any() and left.any()):
        return  # an empty lung mask measures nothing: no "0 mL, nan HU" statement, no nodule claim
    for side, lung in (("Right", right), ("Left", left)):
        volume, mean = measure.volume_ml(lung, spacing), measure.mean_value(hu, lung)
        if volume > 0 and np.isfinite(mean):
            w.add("lungs", f"{side} lung volume {volume:.0f} mL, mean attenuation {_fmt_hu(mean)} HU.",
                  {f"{side} lung": lung})
    nodules = measure.solid_nodules_ct(hu, right, left, spacing)  # type: ignore[arg-type]
    if not nodules:
        w.add("lungs", f"No solid lung nodule of {measure.MIN_NODULE_DIAMETER_MM:.0f} mm or more.")
    for n in nodules:
        phrase = f"{n.diameter_mm:.0f} mm solid nodule"
        w.add("lungs", f"A {phrase} in the {n.side} {n.zone} lobe (mean {_fmt_hu(n.mean_hu or 0.0)} HU).",
              {phrase: n.mask})
        w.positives.append(f"{n.diameter_mm:.0f} mm solid nodule in the {n.side} {n.zone} lobe.")


def _ct_pleura(w: _Writer, spacing: tuple[float, ...], masks: Mapping[str, RegionMask]) -> None:
    pleura = masks.get("pleura")
    if pleura is None or "effusion" not in pleura.parts:
        return  # nobody searched for pleural fluid: say nothing rather than "no effusion"
    effusion = pleura.parts["effusion"]
    right, left = _mask(masks, "lungs", "right"), _mask(masks, "lungs", "left")
    sides: dict[str, BoolArray] = {}
    for comp in measure.components(effusion):
        side = measure.side_of(comp, right, left) if right is not None and left is not None else ""
        sides[side] = sides[side] | comp if side in sides else comp
    found = False
    for side in ("right", "left", ""):
        if side in sides and measure.volume_ml(sides[side], spacing) >= MIN_EFFUSION_ML:
            phrase = f"{side.capitalize()} pleural effusion" if side else "Pleural effusion"
            volume = measure.volume_ml(sides[side], spacing)
            w.add("pleura", f"{phrase}, approximately {volume:.0f} mL.", {phrase: sides[side]})
            w.positives.append(f"{phrase}, approximately {volume:.0f} mL.")
            found = True
    if not found:
        w.add("pleura", "No pleural fluid collection.", {"pleural": pleura.mask})


def _ct_thyroid(w: _Writer, hu: np.ndarray, masks: Mapping[str, RegionMask]) -> None:
    thyroid = _mask(masks, "thyroid")
    if thyroid is not None and not thyroid.any():
        return  # an empty mask: nothing measured, nothing said
    if thyroid is None:
        if "body" in masks:
            w.add("thyroid", "Thyroid not identified in the imaged field.")
        return
    w.add("thyroid", f"Thyroid identified anterior to the trachea, mean attenuation "
          f"{_fmt_hu(measure.mean_value(hu, thyroid))} HU.", {"Thyroid": thyroid})


NOT_ASSESSED = "not assessed by the built-in generator"
_CXR_OUTLINES = (
    ("pleura", "Pleural margins are outlined; {na}.", "Pleural margins"),
    ("mediastinum", "Mediastinum is outlined above the heart; {na}.", "Mediastinum"),
    ("airway", "Expected position of the trachea is marked; {na}.", "trachea"),
    ("diaphragm", "Diaphragm is outlined below the lung bases; {na}.", "Diaphragm"),
    ("bones", "Rib outlines are marked; {na}.", "Rib outlines"),
    ("soft tissues", "Soft tissues are outlined; {na}.", "Soft tissues"),
)
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
    if round(abs(ctr - CTR_ENLARGED), 2) <= CTR_BORDERLINE:
        text = f"Heart size is borderline (cardiothoracic ratio {ctr:.2f}{caveat})."
        w.positives.append(f"Borderline heart size (cardiothoracic ratio {ctr:.2f}).")
    elif ctr > CTR_ENLARGED:
        text = f"The cardiac silhouette is enlarged (cardiothoracic ratio {ctr:.2f}{caveat})."
        w.positives.append(f"Enlarged cardiac silhouette (cardiothoracic ratio {ctr:.2f}).")
    else:
        text = f"Heart size is normal (cardiothoracic ratio {ctr:.2f}{caveat})."
    w.add("heart", text, {"cardiac silhouette" if "silhouette" in text else "Heart size": heart})
