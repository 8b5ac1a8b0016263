"""Small hand-built studies and drafts for storage tests (no pixels needed beyond a few bytes)."""

from __future__ import annotations

import hashlib

import numpy as np

from inference.artefacts import content_ref
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
from viewer.records import Image, Study


def study(case_id: str = "case-1", kind: str = "cxr", *, indication: str | None = "cough",
          prior: Study | None = None) -> Study:
    """A tiny study whose sha256 is that of its pixel bytes."""
    pixels = np.arange(16, dtype=np.float32).reshape(4, 4) + len(case_id)
    if kind == "ct":
        pixels = np.stack([pixels, pixels + 1])
    modality = "CT" if kind == "ct" else "DX"
    image = Image(pixels=pixels, spacing_mm=(1.0,) * pixels.ndim, affine=np.eye(4), modality=modality,
                  photometric="MONOCHROME2", default_window=None, source=f"{case_id}.dcm",
                  sha256=hashlib.sha256(pixels.tobytes()).hexdigest(),
                  meta={"StudyInstanceUID": f"1.2.826.0.1.{len(case_id)}"})
    return Study(case_id=case_id, kind=kind, images=(image,), indication=indication, prior=prior,  # type: ignore[arg-type]
                 prior_report="Prior: clear." if prior else None)


def mask() -> np.ndarray:
    """A 4×4 boolean mask with three pixels set."""
    m = np.zeros((4, 4), dtype=bool)
    m[1, 1:4] = True
    return m


def draft(case_id: str = "case-1", *, model: str = "built-in", with_mask: bool = True) -> Draft:
    """A CXR draft with three findings (lungs with a grounded phrase, pleura, heart)."""
    m = mask()
    ref = content_ref(m)
    grounding = Grounding(boxes=((0.25, 0.25, 1.0, 0.5),), mask_ref=ref if with_mask else None)
    f1 = Finding("f1", "lungs", "A 6 mm nodule in the left upper lobe.",
                 (Phrase("6 mm nodule", (2, 13), grounding),))
    f2 = Finding("f2", "pleura", "Small right pleural effusion.")
    f3 = Finding("f3", "heart", "Heart size is normal.")
    sections = (Section("lungs", (f1,)), Section("pleura", (f2,)), Section("heart", (f3,)))
    return Draft(case_id, sections, "Nodule.", Provenance("builtin", model, input_sha256s=("ab",)),
                 latency_s={"generate": 0.5}, artefacts={ref: m} if with_mask else {})
