"""The one place importers call the grounding parsers, so imported drafts are parsed like generated ones.

Each function turns a source's report body into findings with regions (and phrases with boxes
where the source has them) using :mod:`inference.parsers`; none of them invents its own grammar.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inference.importers.sections import findings_and_impression, split_sections
from inference.records import Finding, Grounding, Phrase

Box = tuple[float, ...]


def prose_findings(text: str, kind: str) -> list[Finding]:
    """Sentences of plain prose, each a finding with a lexicon region."""
    from inference.parsers.prose import parse_prose

    return list(parse_prose(text, kind).findings)


def report_findings(text: str, kind: str) -> tuple[list[Finding], str | None]:
    """Findings and impression of a prose report that may carry FINDINGS / IMPRESSION headers.

    A report without headers is all findings; with headers, FINDINGS (or FINDINGS AND
    IMPRESSION) becomes findings and IMPRESSION the impression (see
    :func:`inference.importers.sections.findings_and_impression`).
    """
    body, impression = findings_and_impression(split_sections(text))
    return prose_findings(body, kind), impression


def grounded_findings(sentences: Sequence[tuple[str, Sequence[Box] | None]], kind: str) -> list[Finding]:
    """One finding per grounded sentence (MAIRA-2 ``(text, boxes | None)``), region by the lexicon.

    A sentence with boxes gets one phrase spanning the whole sentence, grounded to those boxes
    (``source="model"``); a sentence without boxes has no phrase.

    Raises:
        ValueError: a box outside [0, 1] or with min > max (from :class:`Grounding`).
    """
    from inference.parsers.base import finding_for

    findings = []
    for index, (raw, boxes) in enumerate(sentences, start=1):
        text = " ".join(raw.split())
        if not text:
            continue
        phrases: tuple[Phrase, ...] = ()
        if boxes:
            grounding = Grounding(boxes=tuple(tuple(float(v) for v in b) for b in boxes), source="model")
            phrases = (Phrase(text=text, span=(0, len(text)), grounding=grounding),)
        findings.append(finding_for(text, kind, index, phrases=phrases))
    return findings


def vividmed_findings(text: str, kind: str) -> tuple[list[Finding], str | None]:
    """Findings of a VividMed ``<p>``-tagged report (headers, if any, split off first)."""
    from inference.parsers.vividmed import parse_vividmed

    body, impression = findings_and_impression(split_sections(text))
    return list(parse_vividmed(body, kind).findings), impression


def maira2_text_findings(text: str, kind: str, image_size: Any = None) -> list[Finding]:
    """Findings of a raw MAIRA-2 ``<obj>…</obj><box>…</box>`` string.

    Args:
        text: The generated text with grounding tokens.
        kind: Study kind.
        image_size: ``[width, height]`` of the original image, to undo the processor's centre
            crop; without it the boxes are kept in the processed frame.
    """
    from inference.parsers.maira2 import parse_maira2

    size = (int(image_size[0]), int(image_size[1])) if image_size else None
    return list(parse_maira2(text, kind, image_size=size).findings)


def reg2rg_findings(text: str) -> list[Finding]:
    """Findings of a Reg2RG ``The region i is <area>: …`` report (CT)."""
    from inference.parsers.reg2rg import parse_reg2rg

    return list(parse_reg2rg(text).findings)
