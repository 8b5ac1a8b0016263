"""``regions``: region-level records for Reg2RG-style training — one example per region section.

``{"id": "<case_id>/<region>", "case_id", "region", "images", "mask_refs", "prompt", "draft",
"target"}``, one JSON object per line. ``target`` is the reviewer-final text of that region's
section, ``draft`` the drafted one; ``mask_refs`` are the content references of the region's masks
(stored artefacts, as in ``Grounding.mask_ref``). Only regions with at least one final finding are
written (an empty section does not mean "normal"). With a region filter only that region is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inference.records import Finding, Section
from storage.exports.common import ExportContext, FormatOutput, images_of, jsonl_export, study_label
from storage.records import ReviewedCase

FILENAME = "regions.jsonl"


def region_prompt(kind: str, region: str) -> str:
    """The per-region instruction (Reg2RG asks for one region's findings at a time)."""
    return f"Describe the findings of the {region} region in this {study_label(kind)}."


def _mask_refs(findings: Sequence[Finding]) -> list[str]:
    refs: list[str] = []
    for finding in findings:
        for phrase in finding.phrases:
            ref = phrase.grounding.mask_ref if phrase.grounding else None
            if ref and ref not in refs:
                refs.append(ref)
    return refs


def _drafted(case: ReviewedCase, region: str) -> str:
    return " ".join(f.text for f in case.draft.findings if f.region == region)


def build_for(case: ReviewedCase, ctx: ExportContext, only_region: str | None) -> list[dict[str, Any]]:
    """One record per non-empty final section of a case."""
    images = images_of(case, ctx)
    sections: list[Section] = [s for s in case.state.sections() if s.findings
                               and (only_region is None or s.region == only_region)]
    return [{"id": f"{case.study.case_id}/{s.region}", "case_id": case.study.case_id,
             "region": s.region, "images": images, "mask_refs": _mask_refs(s.findings),
             "prompt": region_prompt(case.study.kind, s.region), "draft": _drafted(case, s.region),
             "target": s.text} for s in sections]


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The region records of a case (restricted to ``ctx.region`` when set)."""
    return build_for(case, ctx, ctx.region)


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``regions.jsonl``."""
    return jsonl_export(FILENAME, cases, ctx, build)
