"""``sft``: TRL ``SFTTrainer`` conversational vision records, one JSON object per line (DESIGN §6).

``{"images": [...], "messages": [{"role": "user", "content": [{"type": "image"}, …, {"type": "text",
"text": prompt}]}, {"role": "assistant", "content": [{"type": "text", "text": signed}]}]}`` — one
``{"type": "image"}`` placeholder per entry of ``images``, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.exports.common import (
    ExportContext,
    FormatOutput,
    assistant_message,
    images_of,
    jsonl_export,
    signed_report,
    user_message,
)
from storage.records import ReviewedCase

FILENAME = "sft.jsonl"


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The single SFT record of a case."""
    images = images_of(case, ctx)
    return [{"images": images,
             "messages": [user_message(case, len(images)), assistant_message(signed_report(case))]}]


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``sft.jsonl``."""
    return jsonl_export(FILENAME, cases, ctx, build)
