"""``maira2``: the signed report as a MAIRA-2 grounded sequence, one JSON object per line (DESIGN §6).

Grammar (as MAIRA-2's processor parses it, ``convert_output_to_plaintext_or_grounded_sequence``):
each finding is ``<obj>text</obj>`` or, when grounded, ``<obj>text<box><x..><y..><x..><y..></box>…</obj>``
— the boxes sit *inside* the ``obj`` element and objects follow each other with no separator.
(DESIGN §6 writes ``<obj>…</obj><box>…</box>``; the file follows the processor, which asserts its
layout; :func:`grounded_sequence` can produce either.)

Each record holds the keyword arguments of MAIRA-2's ``Maira2Processor.format_and_preprocess_reporting_input``
(``processing_maira2.py``; public mirror ``johannes2moll/maira_rrg@f8c7a71:processing_maira2.py``):
``images`` by role (``current_frontal``, ``current_lateral``, ``prior_frontal``: PNGs rendered through
the display pipeline, relative to the export folder, ``null`` when absent), ``indication``,
``technique``, ``comparison``, ``prior_report`` (free text after the export's policy), ``get_grounding``
and ``assistant_text`` (the grounded sequence), plus ``image_size`` (rows/columns of the current
frontal) and ``provenance``.

Coordinates use 100 bins. MAIRA-2 decodes a bin ``b`` as ``(b + 0.5) / 100``; we encode a
normalised coordinate ``v`` as ``min(99, max(0, floor(v * 100)))``, so ``encode(decode(b)) == b``
for every bin and ``|decode(encode(v)) - v| <= 0.005``. MAIRA-2 sees a centre-cropped square: every box is
mapped from the original image into that square with the rendered image's size (the inverse of the
processor's ``adjust_box_for_original_image_size``; ``box_frame: square_crop``). Only CXR (2D) cases
are written; CT cases are skipped.
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
    indication,
    jsonl_export,
    kept_findings,
    prior_report,
    provenance,
    rendered,
)
from storage.records import ReviewedCase

FILENAME = "maira2.jsonl"
NEEDS_PNG = True
NUM_BINS = 100
ROLES = ("current_frontal", "current_lateral", "prior_frontal")


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


def grounded_sequence(case: ReviewedCase, *, boxes_inside: bool = True,
                      size: tuple[int, int] | None = None) -> str:
    """The reviewer-kept findings as a MAIRA-2 grounded sequence.

    Args:
        case: The reviewed case.
        boxes_inside: ``True`` (MAIRA-2's processor): ``<obj>text<box>…</box></obj>``; ``False``:
            DESIGN §6's written form ``<obj>text</obj><box>…</box>``, which
            ``inference.parsers.maira2.parse_maira2`` reads.
        size: ``(width, height)`` of the current frontal image: boxes are mapped into the processor's
            centre-cropped square; ``None`` keeps them in the original-image frame.
    """
    parts = []
    for finding in kept_findings(case):
        boxes = boxes_2d(finding)
        if size is not None:
            boxes = [to_square_crop(b, *size) for b in boxes]
        tokens = "".join(box_tokens(b) for b in boxes)
        text = finding.text.strip()
        parts.append(f"<obj>{text}{tokens}</obj>" if boxes_inside else f"<obj>{text}</obj>{tokens}")
    return "".join(parts)


def technique(case: ReviewedCase) -> str | None:
    """The technique section from the study's coded attributes (view positions), or ``None``."""
    view = (case.study.meta or {}).get("ViewPosition", "").strip()
    lateral = bool((case.study.meta or {}).get("lateral_path"))
    if not view and not lateral:
        return None
    views = [v for v in (view, "lateral" if lateral else "") if v]
    return f"{' and '.join(views)} view{'s' if len(views) > 1 else ''} of the chest."


def build(case: ReviewedCase, ctx: ExportContext) -> list[dict[str, Any]]:
    """The MAIRA-2 grounded-reporting record of a CXR case (see the module docstring)."""
    if case.study.kind != "cxr":
        raise SkipCase(f"MAIRA-2 grounded reporting is for chest X-rays; this is a {case.study.kind} study")
    roles = rendered(case, ctx)
    size = (int(roles["columns"]), int(roles["rows"]))
    has_prior = roles.get("prior_frontal") is not None
    return [{"id": case.study.case_id,
             "images": {r: roles.get(r) for r in ROLES},
             "indication": indication(case, ctx.free_text),
             "technique": technique(case),
             "comparison": "Prior frontal chest X-ray." if has_prior else None,
             "prior_report": prior_report(case, ctx.free_text) if has_prior else None,
             "get_grounding": True,
             "assistant_text": grounded_sequence(case, size=size),
             "image_size": {"rows": size[1], "columns": size[0]},
             "box_frame": "square_crop",
             "provenance": provenance(case)}]


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``maira2.jsonl``."""
    return jsonl_export(FILENAME, cases, ctx, build)
