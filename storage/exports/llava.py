"""``llava``: LLaVA / LLaVA-Rad conversation records, one JSON object per line (DESIGN §6).

``{"id", "image", "conversations": [{"from": "human", "value": "<image>\\n<prompt>"},
{"from": "gpt", "value": <signed report>}]}``. ``image`` is the first (frontal) image of the case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.exports.common import (
    ExportContext,
    FormatOutput,
    images_of,
    jsonl_export,
    prompt_text,
    signed_report,
)
from storage.records import ReviewedCase

FILENAME = "llava.jsonl"


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The single LLaVA record of a case."""
    images = images_of(case, ctx)
    return [{
        "id": case.study.case_id,
        "image": images[0],
        "conversations": [
            {"from": "human", "value": "<image>\n" + prompt_text(case)},
            {"from": "gpt", "value": signed_report(case)},
        ],
    }]


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``llava.jsonl``."""
    return jsonl_export(FILENAME, cases, ctx, build)
