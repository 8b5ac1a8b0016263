"""``builtin``: the offline default generator — measurements on segmenter masks, templated text.

No AI model is involved. Each region of DESIGN §4 gets a section; every statement that refers to
a measured structure carries a phrase grounded (``source="segmenter"``) to the mask it was measured
on (``mask_ref`` = :func:`inference.artefacts.content_ref`) and that mask's bounding box. The text
is a deterministic function of the image and the masks. The CT sentences are here; the chest
radiograph ones in :mod:`inference.generators._builtin_cxr`, the finding writer in
:mod:`inference.generators._builtin_writer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from inference import measure
from inference.generators._builtin_cxr import CTR_REMEASURE, NOT_ASSESSED, _write_cxr
from inference.generators._builtin_writer import (
    CTR_BORDERLINE,
    CTR_ENLARGED,
    MIN_EFFUSION_ML,
    BoolArray,
    HeartWords,
    _fmt_hu,
    _mask,
    _Writer,
)
from inference.protocols import Progress, RegionMask, emit_stage, emit_text
from inference.records import Draft, Provenance
from viewer.records import Image, Study

__all__ = ["CTR_BORDERLINE", "CTR_ENLARGED", "CTR_REMEASURE", "MIN_EFFUSION_ML", "NOT_ASSESSED", "PARAMS",
           "BuiltinGenerator"]

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


_ENLARGED = HeartWords("The heart is enlarged", "Cardiomegaly", "heart")


def _ct_heart(w: _Writer, spacing: tuple[float, ...], masks: Mapping[str, RegionMask]) -> None:
    heart, lungs = _mask(masks, "heart"), _mask(masks, "lungs")
    if heart is None or lungs is None:
        return
    ctr = round(measure.cardiothoracic_ratio_ct(heart, lungs, spacing[2]), 2)  # decide on what is shown
    w.heart(ctr, heart, "axial cardiothoracic ratio", _ENLARGED)


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
