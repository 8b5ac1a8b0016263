"""``maira2``: the signed report as a MAIRA-2 grounded sequence, one JSON object per line (DESIGN §6).

Grammar (as MAIRA-2's processor parses it, ``convert_output_to_plaintext_or_grounded_sequence``):
each finding is ``<obj>text</obj>`` or, when grounded, ``<obj>text<box><x..><y..><x..><y..></box>…</obj>``
— the boxes sit *inside* the ``obj`` element and objects follow each other with no separator.
(DESIGN §6 writes ``<obj>…</obj><box>…</box>``; the file follows the processor, which asserts its
layout; :func:`grounded_sequence` can produce either.)

Coordinates use 100 bins. MAIRA-2 decodes a bin ``b`` as ``(b + 0.5) / 100``; we encode a
normalised coordinate ``v`` as ``min(99, max(0, floor(v * 100)))``, so ``encode(decode(b)) == b``
for every bin and ``|decode(encode(v)) - v| <= 0.005``. MAIRA-2 sees a centre-cropped square; when
the study meta carries ``Rows``/``Columns`` the box is mapped from the original image into that square
(the inverse of the processor's ``adjust_box_for_original_image_size``), otherwise it is written in the
original-image frame. Only CXR (2D) cases are written; CT cases are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from storage.exports.common import (
    ExportContext,
    FormatOutput,
    SkipCase,
    boxes_2d,
    images_of,
    jsonl_export,
    kept_findings,
    prompt_text,
)
from storage.records import ReviewedCase

FILENAME = "maira2.jsonl"
NUM_BINS = 100


def encode_coord(value: float, bins: int = NUM_BINS) -> int:
    """The bin of a normalised coordinate: ``floor(value * bins)`` clipped to ``0..bins-1``."""
    return min(bins - 1, max(0, math.floor(value * bins)))


def decode_coord(index: int, bins: int = NUM_BINS) -> float:
    """MAIRA-2's decoding of a bin: its centre ``(index + 0.5) / bins``."""
    return (index + 0.5) / bins


def to_square_crop(box: Sequence[float], width: int, height: int) -> tuple[float, float, float, float]:
    """Map a box normalised to the original image into the centre-cropped square MAIRA-2 sees.

    The processor crops ``min(width, height)`` pixels around the centre (offsets floored); parts of
    the box outside the crop are clipped to its edge.
    """
    side = min(width, height)
    dx, dy = (width - side) // 2, (height - side) // 2
    x0, y0, x1, y1 = box

    def clip(v: float) -> float:
        return min(1.0, max(0.0, v))

    return (clip((x0 * width - dx) / side), clip((y0 * height - dy) / side),
            clip((x1 * width - dx) / side), clip((y1 * height - dy) / side))


def box_tokens(box: Sequence[float]) -> str:
    """``<box><x..><y..><x..><y..></box>`` for a normalised ``(x_min, y_min, x_max, y_max)``."""
    x0, y0, x1, y1 = (encode_coord(v) for v in box)
    return f"<box><x{x0}><y{y0}><x{x1}><y{y1}></box>"


def _image_size(case: ReviewedCase) -> tuple[int, int] | None:
    meta = case.study.meta
    try:
        return int(meta["Columns"]), int(meta["Rows"])
    except (KeyError, ValueError):
        return None


def grounded_sequence(case: ReviewedCase, *, boxes_inside: bool = True) -> str:
    """The reviewer-final findings as a MAIRA-2 grounded sequence.

    Args:
        case: The reviewed case.
        boxes_inside: ``True`` (MAIRA-2's processor): ``<obj>text<box>…</box></obj>``; ``False``:
            DESIGN §6's written form ``<obj>text</obj><box>…</box>``, which
            ``inference.parsers.maira2.parse_maira2`` reads.
    """
    size = _image_size(case)
    parts = []
    for finding in kept_findings(case):
        boxes = boxes_2d(finding)
        if size is not None:
            boxes = [to_square_crop(b, *size) for b in boxes]
        tokens = "".join(box_tokens(b) for b in boxes)
        text = finding.text.strip()
        parts.append(f"<obj>{text}{tokens}</obj>" if boxes_inside else f"<obj>{text}</obj>{tokens}")
    return "".join(parts)


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The MAIRA-2 grounded-reporting record of a CXR case."""
    if case.study.kind != "cxr":
        raise SkipCase(f"MAIRA-2 grounded reporting is for chest X-rays; this is a {case.study.kind} study")
    images = images_of(case, ctx)
    return [{"id": case.study.case_id, "images": images, "prompt": prompt_text(case),
             "target": grounded_sequence(case),
             "box_frame": "square_crop" if _image_size(case) else "original"}]


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``maira2.jsonl``."""
    return jsonl_export(FILENAME, cases, ctx, build)
