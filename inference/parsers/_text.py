"""Turning cleaned text plus phrase spans into per-sentence findings (shared by the tag parsers)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from inference.parsers.base import finding_for
from inference.parsers.prose import sentence_spans
from inference.records import Finding, Grounding, Phrase


def collapse_whitespace(text: str) -> str:
    """All whitespace runs as one space, trimmed."""
    return " ".join(text.split())


def findings_from_spans(text: str, phrases: Sequence[tuple[int, int, Grounding | None]], kind: str, *,
                        start_index: int = 1, region: str | None = None,
                        flags: Sequence[str] = ()) -> list[Finding]:
    """One finding per sentence of ``text``; each phrase goes to the sentence holding its start.

    Args:
        text: Cleaned text (no tags).
        phrases: ``(start, end, grounding)`` spans into ``text``.
        kind: ``ct`` or ``cxr`` for the lexicon.
        start_index: Number of the first finding id (``f{n}``).
        region: Force every finding's region (Reg2RG sections); lexicon otherwise.
        flags: Flags for every finding.
    """
    findings = []
    for n, (a, b) in enumerate(sentence_spans(text)):
        own = []
        for start, end, grounding in phrases:
            if a <= start < b:
                rel = (start - a, min(end, b) - a)
                own.append(Phrase(text[a:b][rel[0]:rel[1]], rel, grounding))
        findings.append(finding_for(text[a:b], kind, start_index + n, region=region, phrases=own,
                                    flags=flags))
    return findings


TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def strip_tags(text: str) -> str:
    """Text with every ``<tag>`` removed (for degrading malformed output to prose)."""
    return collapse_whitespace(TAG.sub(" ", text))
