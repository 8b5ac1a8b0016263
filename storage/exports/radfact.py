"""``radfact``: grounded sentence lists for RadFact evaluation (DESIGN §6), one JSON array.

``[{"example_id", "prediction": [{"text", "boxes": [{"x_min", "y_min", "x_max", "y_max"}] | null}],
"target": [...]}]``: ``prediction`` holds the drafted findings, ``target`` the reviewer-final ones
with their (possibly corrected) boxes. Boxes are normalised to the original image (RadFact's
convention). Only 2D boxes are written; 3D (CT) groundings appear as ``null``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from inference.records import Finding
from storage.exports.common import ExportContext, FormatOutput, boxes_2d, kept_findings
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
            "target": [sentence(f) for f in kept_findings(case)]}


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``radfact.json`` (a JSON list, indented for review)."""
    examples = [build(case) for case in cases]
    path = ctx.out_dir / FILENAME
    path.write_text(json.dumps(examples, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return FormatOutput(files=[path], records=len(examples))
