"""``sft``: TRL ``SFTTrainer`` conversational vision records, as a Hugging Face ``imagefolder`` dataset.

``metadata.jsonl`` (one JSON object per line) beside the rendered PNGs: ``{"file_names": [...],
"messages": [{"role": "user", "content": [{"type": "image"}, …, {"type": "text", "text": prompt}]},
{"role": "assistant", "content": [{"type": "text", "text": signed}]}], "provenance"}`` — one
``{"type": "image"}`` placeholder per image, in the same order. ``datasets.load_dataset("imagefolder",
data_dir=<export>)`` resolves ``file_names`` relative to the metadata file and yields an ``images``
column of PIL images, which is what TRL's ``DataCollatorForVisionLanguageModeling`` takes. Chest X-rays
only (PNG renders through the display pipeline); CT volumes are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.exports import common
from storage.exports.common import ExportContext, FormatOutput
from storage.records import ReviewedCase

FILENAME = "metadata.jsonl"
NEEDS_PNG = True


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The single SFT record of a case."""
    common.require_2d(case, "sft")
    images = common.rendered_images(case, ctx)
    return [{"file_names": images,
             "messages": [common.user_message(case, len(images), ctx.free_text),
                          common.assistant_message(common.signed_report(case))],
             "provenance": common.provenance(case)}]


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``metadata.jsonl``."""
    return common.jsonl_export(FILENAME, cases, ctx, build)
