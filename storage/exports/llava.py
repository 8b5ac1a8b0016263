"""``llava``: LLaVA / LLaVA-Rad conversation records as **one JSON array** (``llava.json``).

LLaVA-Rad's ``train.py`` reads ``--data_path`` with one ``json.load`` (``data_loader_default`` in
``microsoft/LLaVA-Rad@1fc4409:llava/utils.py``) and opens ``os.path.join(--image_folder, record["image"])``
with PIL (``LazySupervisedDataset.__getitem__`` in ``llava/train/train.py``). So each record is
``{"id", "image", "conversations": [{"from": "human", "value": "<image>\\n<prompt>"}, {"from": "gpt",
"value": <signed report>}], "provenance"}`` and ``image`` is a PNG rendered from the source through the
display pipeline (modality LUT, window, MONOCHROME1 inversion), relative to the export folder — pass
the export folder as ``--image_folder``. Only chest X-rays: CT volumes are skipped (``regions`` format).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from storage.exports.common import (
    ExportContext,
    FormatOutput,
    built_cases,
    prompt_text,
    provenance,
    rendered,
    require_2d,
    signed_report,
)
from storage.records import ReviewedCase

FILENAME = "llava.json"
NEEDS_PNG = True


def build(case: ReviewedCase, ctx: ExportContext) -> dict[str, Any]:
    """The single LLaVA record of a case (the current frontal image)."""
    require_2d(case, "llava")
    return {
        "id": case.study.case_id,
        "image": rendered(case, ctx)["current_frontal"],
        "conversations": [
            {"from": "human", "value": "<image>\n" + prompt_text(case, ctx.free_text)},
            {"from": "gpt", "value": signed_report(case)},
        ],
        "provenance": provenance(case),
    }


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``llava.json`` (a JSON array, one record per case)."""
    out = FormatOutput()
    records = [record for _, record in built_cases(cases, ctx, build, out)]
    path = ctx.out_dir / FILENAME
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    out.files.append(path)
    out.records = len(records)
    return out
