"""VividMed grounded-phrase grammar: ``<p>phrase</p>`` marks a phrase the model also segments.

>>> r = parse_vividmed("There is a <p>left pleural effusion</p>. Heart normal.", "cxr")
>>> [(f.region, [p.text for p in f.phrases]) for f in r.findings]
[('pleura', ['left pleural effusion']), ('heart', [])]

Phrases come back with ``grounding=None``: VividMed's masks are produced by its segmentation
head, which the generator attaches. Unbalanced or nested tags make the whole output malformed:
tags are stripped, the text is parsed as prose and every finding carries ``malformed_output``.
"""

from __future__ import annotations

import re

from inference.parsers._text import collapse_whitespace, findings_from_spans, strip_tags
from inference.parsers.base import MALFORMED, ParseResult
from inference.parsers.prose import parse_prose
from inference.records import Grounding

_P_TAG = re.compile(r"</?p>", re.IGNORECASE)


def parse_vividmed(text: str, kind: str) -> ParseResult:
    """Parse VividMed output into findings with tagged phrases (see module docstring)."""
    text = re.sub(r"<p>\s+", " <p>", text, flags=re.IGNORECASE)  # whitespace inside tags goes outside
    text = re.sub(r"\s+</p>", "</p> ", text, flags=re.IGNORECASE)
    text = collapse_whitespace(text)
    clean: list[str] = []
    phrases: list[tuple[int, int, Grounding | None]] = []
    cursor, length, open_at = 0, 0, None
    for m in _P_TAG.finditer(text):
        clean.append(text[cursor : m.start()])
        length += m.start() - cursor
        cursor = m.end()
        closing = m.group(0).startswith("</")
        if closing == (open_at is None):  # </p> without <p>, or <p> inside <p>
            return _malformed(text, kind, f"unbalanced tag {m.group(0)!r} at character {m.start()}")
        if closing:
            assert open_at is not None
            phrases.append((open_at, length, None))
            open_at = None
        else:
            open_at = length
    if open_at is not None:
        return _malformed(text, kind, "unclosed <p> tag")
    clean.append(text[cursor:])
    joined = "".join(clean)
    stripped, spans = _trim_phrases(joined, phrases)
    return ParseResult(tuple(findings_from_spans(stripped, spans, kind)))


def _trim_phrases(text: str, phrases: list[tuple[int, int, Grounding | None]]
                  ) -> tuple[str, list[tuple[int, int, Grounding | None]]]:
    """Drop whitespace just inside tags from phrase spans (``<p> effusion </p>`` → ``effusion``)."""
    out = []
    for start, end, g in phrases:
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if end - trail > start + lead:
            out.append((start + lead, end - trail, g))
    return text, out


def _malformed(text: str, kind: str, problem: str) -> ParseResult:
    prose = parse_prose(strip_tags(text), kind, flags=(MALFORMED,))
    return ParseResult(prose.findings, malformed=True, problems=(problem,))
