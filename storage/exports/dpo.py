"""``dpo``: TRL ``DPOTrainer`` conversational vision preference pairs (DESIGN §6).

``{"images", "prompt": [user turn], "chosen": [assistant turn: signed report], "rejected": [assistant
turn: draft]}``, one JSON object per line. A pair exists only where the reviewer changed the draft
(edit, reject, add, move_box, relink_region, edit_mask); accept-only cases give none. A change that
leaves the plain text identical (a moved box only) gives no pair either — DPO on two identical
completions carries no signal — and is listed in the manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.exports.common import (
    ExportContext,
    FormatOutput,
    SkipCase,
    assistant_message,
    draft_report,
    images_of,
    jsonl_export,
    reviewer_changed,
    signed_report,
    user_message,
)
from storage.records import ReviewedCase

FILENAME = "dpo.jsonl"


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The preference pair of a case, or :class:`SkipCase` when the reviewer changed nothing."""
    if not reviewer_changed(case):
        raise SkipCase("accepted unchanged: no preference pair")
    chosen, rejected = signed_report(case), draft_report(case)
    if chosen == rejected:
        raise SkipCase("only the grounding changed: chosen and rejected texts are identical")
    images = images_of(case, ctx)
    return [{"images": images, "prompt": [user_message(case, len(images))],
             "chosen": [assistant_message(chosen)], "rejected": [assistant_message(rejected)]}]


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``dpo.jsonl``."""
    return jsonl_export(FILENAME, cases, ctx, build)
