"""``maira2``: MAIRA-2 grounded reports — sentences, each with its boxes or none.

MAIRA-2's ``processor.convert_output_to_plaintext_or_grounded_sequence`` returns a list of
``(text, boxes | None)`` with boxes ``(x_min, y_min, x_max, y_max)`` normalised to the processor's
square centre crop. Serialised as JSON that becomes ``[["text", [[x0, y0, x1, y1], …]], ["text", null]]``.
Each row (``.jsonl`` line, ``.json`` array element or object) holds an id and the report in one of
these shapes:

- ``"prediction"`` (or ``"grounded_report"``/``"findings"``) as that list of pairs;
- RadFact's ``[{"text": …, "boxes": [{"x_min": …, "y_min": …, "x_max": …, "y_max": …}] | null}]``;
- the raw generated string with ``<obj>…</obj><box><x..><y..><x..><y..></box>`` tokens.

Boxes are taken to be normalised to the **original** image (RadFact convention), unless the row says
``"boxes_frame": "processor"`` and gives ``"image_size": [width, height]``; then MAIRA-2's crop-aware
inverse (``Maira2Processor.adjust_box_for_original_image_size``, as implemented in
:func:`inference.parsers.maira2.adjust_box_for_original_image_size`) maps them back. A ``reference`` or
``target`` (string or the same sentence list) becomes the reference report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inference.importers import parse
from inference.importers.base import ImportedDraft, ImportProblem, ImportResult, assemble, provenance
from inference.importers.tables import pick, read_rows, require_columns

NAME = "maira2"
DEFAULT_KIND = "cxr"
ID_FIELDS = ("id", "example_id", "study_id", "dicom_id", "image")
REPORT_FIELDS = ("prediction", "grounded_report", "findings", "output")
Box = tuple[float, float, float, float]
Sentence = tuple[str, tuple[Box, ...] | None]


def _box(value: Any) -> Box:
    if isinstance(value, Mapping):
        value = [value["x_min"], value["y_min"], value["x_max"], value["y_max"]]
    if not isinstance(value, Sequence) or len(value) != 4:
        raise ValueError(f"a box is 4 numbers (x_min, y_min, x_max, y_max), got {value!r}")
    x0, y0, x1, y1 = (float(v) for v in value)
    return (x0, y0, x1, y1)


def _sentence(item: Any) -> Sentence:
    if isinstance(item, Mapping):
        text, boxes = item.get("text"), item.get("boxes")
    elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
        text, boxes = item
    else:
        raise ValueError(f"a grounded sentence is [text, boxes|null] or {{text, boxes}}, got {item!r}")
    if not isinstance(text, str):
        raise ValueError(f"sentence text must be a string, got {text!r}")
    return text, None if boxes is None else tuple(_box(b) for b in boxes)


def sentences_of(report: Any) -> list[Sentence]:
    """Grounded sentences from one row's report value (a list of pairs/dicts).

    Raises:
        ValueError: naming the offending item.
    """
    if not isinstance(report, Sequence) or isinstance(report, str):
        raise ValueError("expected a list of grounded sentences")
    return [_sentence(item) for item in report]


def _to_original(sentences: list[Sentence], record: Mapping[str, Any]) -> list[Sentence]:
    if record.get("boxes_frame", "original") != "processor":
        return sentences
    size = record.get("image_size")
    if not (isinstance(size, Sequence) and len(size) == 2):
        raise ValueError('"boxes_frame": "processor" needs "image_size": [width, height]')
    from inference.parsers.maira2 import adjust_box_for_original_image_size

    width, height = int(size[0]), int(size[1])
    return [(t, None if b is None else tuple(adjust_box_for_original_image_size(x, width, height) for x in b))
            for t, b in sentences]


def _reference(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return " ".join(t.strip() for t, _ in sentences_of(value) if t.strip())
    return None


def read(path: Path, *, kind: str = DEFAULT_KIND) -> ImportResult:
    """Read MAIRA-2 grounded reports into drafts with boxed phrases.

    Args:
        path: ``.jsonl`` or ``.json`` (see module docstring for the row shapes).
        kind: Study kind (MAIRA-2 reads chest X-rays: ``cxr``).
    """
    rows = read_rows(path)
    require_columns(path, rows, {"id": ID_FIELDS, "prediction": REPORT_FIELDS})
    drafts: list[ImportedDraft] = []
    errors: list[ImportProblem] = []
    for row, record in rows:
        key, report = pick(record, ID_FIELDS), pick(record, REPORT_FIELDS)
        try:
            if key is None or report is None:
                raise ValueError("no id" if key is None else "no prediction")
            if isinstance(report, str):
                findings = parse.maira2_text_findings(report, kind, record.get("image_size"))
            else:
                findings = parse.grounded_findings(_to_original(sentences_of(report), record), kind)
            reference = _reference(pick(record, ("reference", "target")))
        except (ValueError, KeyError, TypeError) as exc:
            errors.append(ImportProblem(row, None if key is None else str(key), str(exc)))
            continue
        prov = provenance(NAME, path, row, model_id=pick(record, ("model_id", "model")),
                          prompts=[str(pick(record, ("prompt", "query")) or "")])
        drafts.append(ImportedDraft(
            match_key=str(key), draft=assemble(str(key), kind, findings, None, prov),
            reference_text=reference, row=row, source_file=path.name))
    return ImportResult(NAME, str(path), tuple(drafts), tuple(errors))
