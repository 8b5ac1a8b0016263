"""``radfact``: grounded sentence lists for RadFact evaluation (DESIGN §6), one JSON array.

``[{"example_id", "prediction": [{"text", "boxes": [{"x_min", "y_min", "x_max", "y_max"}] | null}],
"target": [...]}]``: ``prediction`` holds the drafted findings, ``target`` the reviewer-final ones
with their (possibly corrected) boxes; pending and rejected findings are not targets. Boxes are
normalised to the original image (RadFact's convention). Each example also carries ``provenance``,
which RadFact's loader ignores (``get_candidates_and_references_from_json`` in
``microsoft/RadFact@72463ac:src/radfact/cli/run_radfact.py`` reads ``example_id``/``prediction``/``target``
and parses each list with ``GroundedPhraseList.from_list_of_dicts``). RadFact grounds phrases on 2D
images: CT cases are skipped (their boxes are 3D).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from inference.records import Finding
from storage.exports.common import ExportContext, FormatOutput, boxes_2d, kept_findings, provenance
from storage.records import ReviewedCase

FILENAME = "radfact.json"
_KEYS = ("x_min", "y_min", "x_max", "y_max")


def sentence(finding: Finding) -> dict[str, Any]:
    """A RadFact grounded sentence: the finding text and its boxes (``None`` when ungrounded)."""
    boxes = [dict(zip(_KEYS, box, strict=True)) for box in boxes_2d(finding)]
    return {"text": finding.text, "boxes": boxes or None}


def build(case: ReviewedCase) -> dict[str, Any]:
    """The RadFact example of a case."""
    return {"example_id": case.study.case_id,
            "prediction": [sentence(f) for f in case.draft.findings],
            "target": [sentence(f) for f in kept_findings(case)],
            "provenance": provenance(case)}


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``radfact.json`` (a JSON list, indented for review); CT cases are skipped."""
    out = FormatOutput()
    examples = []
    for case in cases:
        if case.study.kind != "cxr":
            out.skipped.append((case.study.case_id, "RadFact grounds phrases on 2D images; this is a "
                                f"{case.study.kind} volume with 3D boxes"))
            continue
        examples.append(build(case))
    path = ctx.out_dir / FILENAME
    path.write_text(json.dumps(examples, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    out.files.append(path)
    out.records = len(examples)
    return out
