"""MAIRA-2 grounded-report grammar: ``<obj>phrase</obj><box><xA><yB><xC><yD></box>…``.

The processor's own layout, with the boxes inside the object (``<obj>phrase<box>…</box></obj>``),
is accepted too and read identically.

Each ``<obj>…</obj>`` is one grounded finding followed by zero or more boxes; text outside
objects is ungrounded prose. Box coordinates are bin indices 0–99 (``num_bins``); like MAIRA-2's
processor we read a bin as its centre, ``(bin + 0.5) / num_bins``, in the model's square input.
:func:`adjust_box_for_original_image_size` maps that back to the original image (DESIGN §2 boxes
are normalised to the **original** width/height): MAIRA-2's processor centre-crops to the shorter
side (``mode="crop"``); processors that pad to a square instead use ``mode="pad"``.

Malformed output degrades instead of raising, and only where it is malformed: a box with a bin outside
``[0, num_bins)`` or a min above its max is dropped and its finding flagged ``malformed_output``; an
unclosed ``<obj>`` (a report cut off by ``max_new_tokens``) keeps every well-formed object before it and
becomes one flagged finding with the complete boxes it already has; a stray ``</obj>``/``<box>`` makes
only its own stretch of text flagged prose.

Upstream: ``Maira2Processor.convert_output_to_plaintext_or_grounded_sequence`` and
``adjust_box_for_original_image_size`` (public mirror johannes2moll/maira_rrg@8d43007:processing_maira2.py),
which raise ``AssertionError`` on any of these.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

from inference.parsers._text import collapse_whitespace, findings_from_spans, strip_tags
from inference.parsers.base import MALFORMED, ParseResult, finding_for
from inference.parsers.prose import parse_prose
from inference.records import Finding, Grounding, Phrase

Box = tuple[float, float, float, float]
NUM_BINS = 100
_OBJECT = re.compile(r"<obj>((?:(?!</?obj>).)*?)</obj>((?:\s*<box>(?:(?!</?(?:obj|box)>).)*?</box>)*)",
                     re.DOTALL)
_PARTIAL_TAG = re.compile(r"</?[a-z]*\d*>?\s*$|<[xy]\d+>?", re.IGNORECASE)
_TAG = re.compile(r"</?(?:obj|box)>|<[xy]\d+>")
_BOX = re.compile(r"<box>(.*?)</box>", re.DOTALL)
_INNER_BOXES = re.compile(r"<obj>((?:(?!</obj>).)*?)((?:\s*<box>.*?</box>)+)\s*</obj>", re.DOTALL)
_COORDS = re.compile(r"\s*<x(\d+)>\s*<y(\d+)>\s*<x(\d+)>\s*<y(\d+)>\s*")


def box_from_bins(bins: tuple[int, int, int, int], num_bins: int = NUM_BINS) -> Box:
    """Bin indices ``(x_min, y_min, x_max, y_max)`` → normalised bin centres.

    Raises:
        ValueError: a bin outside ``[0, num_bins)`` or a min greater than its max.
    """
    if any(not 0 <= b < num_bins for b in bins):
        raise ValueError(f"box bins {bins} outside 0..{num_bins - 1}")
    if bins[0] > bins[2] or bins[1] > bins[3]:
        raise ValueError(f"box bins {bins} have a min greater than the max")
    x0, y0, x1, y1 = ((b + 0.5) / num_bins for b in bins)
    return (x0, y0, x1, y1)


def adjust_box_for_original_image_size(box: Box, width: int, height: int, *,
                                       mode: Literal["crop", "pad"] = "crop") -> Box:
    """Map a box normalised to the model's square input back to the original image.

    Args:
        box: ``(x_min, y_min, x_max, y_max)`` in [0, 1] of the square input.
        width: Original image width in pixels.
        height: Original image height in pixels.
        mode: ``crop`` — the processor centre-cropped to ``min(width, height)`` (MAIRA-2, integer
            offsets as in its processor); ``pad`` — it padded to ``max(width, height)``, centred.

    Returns:
        The box normalised to the original width/height, clipped to [0, 1].
    """
    x0, y0, x1, y1 = box
    if mode == "crop":  # exactly upstream's: absolute pixels truncated with int(), then / width, / height
        side = min(width, height)
        x_off, y_off = (width - side) // 2, (height - side) // 2
        return (int(x0 * side + x_off) / width, int(y0 * side + y_off) / height,
                int(x1 * side + x_off) / width, int(y1 * side + y_off) / height)
    side = max(width, height)
    x_off, y_off = -((side - width) // 2), -((side - height) // 2)
    out = ((x0 * side + x_off) / width, (y0 * side + y_off) / height,
           (x1 * side + x_off) / width, (y1 * side + y_off) / height)
    return tuple(min(1.0, max(0.0, v)) for v in out)  # type: ignore[return-value]


def _boxes(block: str, size: tuple[int, int] | None, mode: Literal["crop", "pad"],
           num_bins: int) -> tuple[list[Box], list[str]]:
    boxes, problems = [], []
    for raw in _BOX.findall(block):
        m = _COORDS.fullmatch(raw)
        if not m:
            problems.append(f"box {raw!r} is not <x..><y..><x..><y..>")
            continue
        try:
            box = box_from_bins(tuple(int(v) for v in m.groups()), num_bins)  # type: ignore[arg-type]
        except ValueError as exc:
            problems.append(str(exc))
            continue
        boxes.append(adjust_box_for_original_image_size(box, *size, mode=mode) if size else box)
    return boxes, problems


def boxes_after_objects(text: str) -> str:
    """Normalise MAIRA-2's processor layout ``<obj>phrase<box>…</box></obj>`` (boxes inside the
    object) to the DESIGN layout ``<obj>phrase</obj><box>…</box>``; both reach :func:`parse_maira2`."""
    return _INNER_BOXES.sub(lambda m: f"<obj>{m.group(1)}</obj>{m.group(2)}", text)


def parse_maira2(text: str, kind: str = "cxr", *, image_size: tuple[int, int] | None = None,
                 mode: Literal["crop", "pad"] = "crop", num_bins: int = NUM_BINS) -> ParseResult:
    """Parse MAIRA-2 grounded output (see module docstring).

    Args:
        text: Model output.
        kind: ``cxr`` (MAIRA-2) or ``ct``, for the lexicon.
        image_size: ``(width, height)`` of the original image; boxes stay in input coordinates when
            ``None``.
        mode: How the processor made the input square (``crop`` for MAIRA-2).
        num_bins: Coordinate bins (100 for MAIRA-2).
    """
    text = boxes_after_objects(text)
    findings: list[Finding] = []
    problems: list[str] = []
    cursor = 0
    for m in _OBJECT.finditer(text):
        findings += _loose(text[cursor : m.start()], kind, len(findings) + 1, image_size, mode, num_bins,
                           problems)
        phrase = collapse_whitespace(m.group(1))
        boxes, box_problems = _boxes(m.group(2), image_size, mode, num_bins)
        problems += box_problems
        findings.append(_object(phrase, boxes, kind, len(findings) + 1, bool(box_problems)))
        cursor = m.end()
    findings += _loose(text[cursor:], kind, len(findings) + 1, image_size, mode, num_bins, problems)
    return ParseResult(tuple(findings), malformed=bool(problems), problems=tuple(problems))


def _object(phrase: str, boxes: list[Box], kind: str, index: int, malformed: bool) -> Finding:
    grounding = Grounding(boxes=tuple(boxes), source="model") if boxes else None
    return finding_for(phrase, kind, index, flags=(MALFORMED,) if malformed else (),
                       phrases=(Phrase(phrase, (0, len(phrase)), grounding),))


def _loose(chunk: str, kind: str, start: int, size: tuple[int, int] | None, mode: Literal["crop", "pad"],
           num_bins: int, problems: list[str]) -> list[Finding]:
    """Text between objects: prose; an unclosed ``<obj>`` salvaged with its complete boxes; other stray
    tags make just this chunk flagged prose."""
    if not _TAG.search(chunk):
        return _prose_findings(chunk, kind, start)
    before, opened, after = chunk.rpartition("<obj>")
    if opened and "</obj>" not in after and "<box>" in after:
        out = _loose(before, kind, start, size, mode, num_bins, problems)
        phrase = collapse_whitespace(strip_tags(after.split("<box>", 1)[0]))
        boxes, box_problems = _boxes(after, size, mode, num_bins)
        problems += [*box_problems, f"unclosed <obj> (output cut off?) after {phrase[:40]!r}"]
        if phrase or boxes:
            out.append(_object(phrase, boxes, kind, start + len(out), True))
        tail = after[after.rfind("</box>") + len("</box>"):] if "</box>" in after else ""
        return out + _flagged_prose(tail, kind, start + len(out))
    problems.append(f"stray grounding tags in {collapse_whitespace(chunk)[:60]!r}")
    return _flagged_prose(chunk, kind, start)


def _flagged_prose(chunk: str, kind: str, start: int) -> list[Finding]:
    """``chunk`` without its (complete or cut-off) tags, as prose findings flagged ``malformed_output``."""
    text = _PARTIAL_TAG.sub(" ", strip_tags(chunk))
    if not text.strip():
        return []
    prose = parse_prose(text, kind, flags=(MALFORMED,))
    return [dataclasses.replace(f, id=f"f{start + n}") for n, f in enumerate(prose.findings)]


def _prose_findings(chunk: str, kind: str, start: int) -> list[Finding]:
    return findings_from_spans(collapse_whitespace(chunk), [], kind, start_index=start)
