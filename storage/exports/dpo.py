"""``dpo``: TRL ``DPOTrainer`` conversational vision preference pairs, as an ``imagefolder`` dataset.

``metadata.jsonl`` beside the rendered PNGs: ``{"file_names", "prompt": [user turn], "chosen":
[assistant turn: the reviewed report], "rejected": [assistant turn: the draft], "provenance"}``; loaded
with ``datasets.load_dataset("imagefolder", data_dir=<export>)`` (``file_names`` → an ``images``
column of PIL images, as TRL's ``DataCollatorForVisionPreference`` takes). A pair exists only where the
reviewer changed the draft (edit, reject, add, move_box, relink_region, edit_mask, impression edit);
accept-only cases give none. A change that leaves the plain text identical (a moved box only) gives
no pair either — DPO on two identical completions carries no signal — and is listed in the manifest.
Chest X-rays only; CT volumes are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.exports import common
from storage.exports.common import ExportContext, FormatOutput, SkipCase
from storage.records import ReviewedCase

FILENAME = "metadata.jsonl"
NEEDS_PNG = True


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The preference pair of a case, or :class:`SkipCase` when the reviewer changed nothing."""
    common.require_2d(case, "dpo")
    if not common.reviewer_changed(case):
        raise SkipCase("accepted unchanged: no preference pair")
    chosen, rejected = common.signed_report(case), common.draft_report(case)
    if chosen == rejected:
        raise SkipCase("only the grounding changed: chosen and rejected texts are identical")
    images = common.rendered_images(case, ctx)
    return [{"file_names": images, "prompt": [common.user_message(case, len(images), ctx.free_text)],
             "chosen": [common.assistant_message(chosen)], "rejected": [common.assistant_message(rejected)],
             "provenance": common.provenance(case)}]


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``metadata.jsonl``."""
    return common.jsonl_export(FILENAME, cases, ctx, build)
