"""``regions``: Reg2RG / RadGenome-ChestCT training data — CSV + NIfTI volume + per-region masks.

Laid out as Reg2RG's dataset reader expects (``RadGenomeDataset_Train`` in
``zhi-xuan-chen/Reg2RG@4effe09:src/Dataset/radgenome_dataset_train.py``):

* ``radgenome.csv`` with columns ``Volumename, Anatomy, Sentence`` — one row per region with kept
  findings (``Anatomy`` in Reg2RG's spelling: ``lung``, ``bone``, ``trachea and bronchie``…) and one
  whole-report row with an empty ``Anatomy`` (read as ``whole``), like RadGenome-ChestCT's CSV;
* ``volumes/<case>/<case>/<case>.nii.gz`` — the CT volume in HU (``data_folder/<patient>/<accession>/``);
* ``masks/seg_<case>/<region>.nii.gz`` — the region masks on the same grid (``mask_folder``): the
  default segmenter's region masks with the reviewer's corrected region masks substituted;
* ``provenance.jsonl`` — one object per volume (``Volumename`` + provenance; Reg2RG ignores it).

Sentences are the reviewer-kept findings (rejected and pending ones left out). Chest X-rays are
skipped (Reg2RG is a CT model); a region filter restricts the rows to that region.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from storage.exports.common import ExportContext, FormatOutput, SkipCase, built_cases, provenance
from storage.records import ReviewedCase

CSV_NAME = "radgenome.csv"
REG2RG_REGION: dict[str, str] = {
    "abdomen": "abdomen", "bones": "bone", "breasts": "breast", "esophagus": "esophagus", "heart": "heart",
    "lungs": "lung", "mediastinum": "mediastinum", "pleura": "pleura", "thyroid": "thyroid",
    "trachea and bronchi": "trachea and bronchie",
}
"""DESIGN §4 CT region → Reg2RG's spelling (its ``REGIONS`` list)."""

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def volume_name(case_id: str) -> str:
    """A file stem Reg2RG can split on ``.`` (it takes ``name.split(".")[0]``): dots become ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", case_id)


def _save_nifti(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(array, _LPS_TO_RAS @ np.asarray(affine, dtype=float))  # type: ignore[no-untyped-call]
    nib.save(image, str(path))


def _sentences(case: ReviewedCase, only_region: str | None) -> list[tuple[str, str]]:
    rows = []
    for section in case.state.reviewed_sections():
        if section.findings and (only_region is None or section.region == only_region):
            rows.append((REG2RG_REGION[section.region], section.text))
    return rows


def _whole(case: ReviewedCase) -> str:
    """The whole-report sentence: all kept findings in region order (RadGenome's whole-report rows hold
    the findings, not the impression)."""
    return " ".join(s.text for s in case.state.reviewed_sections() if s.findings)


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, str]]:
    """Write the case's volume and region masks; return its CSV rows."""
    if case.study.kind != "ct":
        raise SkipCase("Reg2RG is a CT model; this is a chest X-ray (use llava, sft, dpo or maira2)")
    if ctx.region_masks is None:
        raise SkipCase("region masks are not available (give the data directory)")
    sentences = _sentences(case, ctx.region)
    if not sentences:
        raise SkipCase("no kept finding in any region")
    try:
        image, masks = ctx.region_masks(case)
    except (ValueError, OSError) as exc:
        raise SkipCase(f"volume not loaded: {exc}") from None
    name = volume_name(case.study.case_id)
    missing = [r for r, _ in sentences if not any(REG2RG_REGION.get(k) == r for k in masks)]
    if missing:
        raise SkipCase(f"no mask for region(s) {', '.join(missing)}")
    _save_nifti(np.asarray(image.pixels, dtype=np.int16), image.affine,
                ctx.out_dir / "volumes" / name / name / f"{name}.nii.gz")
    wanted = {r for r, _ in sentences}
    for region, mask in masks.items():
        spelled = REG2RG_REGION.get(region)
        if spelled in wanted:
            _save_nifti(np.asarray(mask, dtype=np.uint8), image.affine,
                        ctx.out_dir / "masks" / f"seg_{name}" / f"{spelled}.nii.gz")
    volume = f"{name}.nii.gz"
    rows = [{"Volumename": volume, "Anatomy": region, "Sentence": text} for region, text in sentences]
    if ctx.region is None:
        rows.append({"Volumename": volume, "Anatomy": "", "Sentence": _whole(case)})
    return rows


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``radgenome.csv``, the volumes, the masks and ``provenance.jsonl``."""
    out = FormatOutput()
    rows: list[dict[str, str]] = []
    origins: list[dict[str, Any]] = []
    for case, found in built_cases(cases, ctx, build, out):
        rows.extend(found)
        origins.append({"Volumename": found[0]["Volumename"], **provenance(case)})
    path = ctx.out_dir / CSV_NAME
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["Volumename", "Anatomy", "Sentence"])
        writer.writeheader()
        writer.writerows(rows)
    prov = ctx.out_dir / "provenance.jsonl"
    prov.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in origins), encoding="utf-8")
    out.files.extend([path, prov, *sorted((ctx.out_dir / "volumes").rglob("*.nii.gz")),
                      *sorted((ctx.out_dir / "masks").rglob("*.nii.gz"))])
    out.records = len(rows)
    return out
