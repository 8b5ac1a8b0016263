"""Plain prose → sentences → findings with regions from the anatomy lexicon.

The sentence splitter does not break after common abbreviations ("e.g.", "i.e.", "Dr.", "vs.",
"approx.", "cf."…), single initials, or inside decimals ("2.5 cm"); it breaks after ``.``, ``!``
or ``?`` followed by whitespace and an upper-case letter, digit or quote, and at blank lines and
bullet/numbered list items.
"""

from __future__ import annotations

import re

from inference.parsers.base import ParseResult, finding_for

ABBREVIATIONS = frozenset({
    "e.g", "i.e", "dr", "drs", "mr", "mrs", "ms", "prof", "vs", "approx", "cf", "etc", "fig", "st", "jr",
    "sr", "incl", "resp", "ca", "esp", "pt", "pts", "vol", "ref",
})
_BOUNDARY = re.compile(r"([.!?][\"')\]]*)\s+(?=[\"'(\[]?[A-Z0-9])")
_BREAK = re.compile(r"\n\s*\n|^[ \t]*(?:[-*•]|\d+[.)])[ \t]+", re.MULTILINE)


def _ends_with_abbreviation(text: str) -> bool:
    word = re.search(r"(\S+)$", text)
    if not word:
        return False
    token = word.group(1).rstrip(".").lower().lstrip("([\"'")
    return token in ABBREVIATIONS or bool(re.fullmatch(r"[a-z]", token))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the sentences of ``text`` (rules in the module docstring)."""
    events = [(m.start(), m.end()) for m in _BREAK.finditer(text)]
    for m in _BOUNDARY.finditer(text):
        if m.group(1)[0] == "." and _ends_with_abbreviation(text[: m.start(1)]):
            continue
        events.append((m.end(1), m.end()))
    spans, cursor = [], 0
    for cut_start, cut_end in [*sorted(events), (len(text), len(text))]:
        if cut_start > cursor:
            segment = text[cursor:cut_start]
            lead = len(segment) - len(segment.lstrip())
            trail = len(segment.rstrip())
            if trail > lead:
                spans.append((cursor + lead, cursor + trail))
        cursor = max(cursor, cut_end)
    return spans


def split_sentences(text: str) -> list[str]:
    """Split report prose into sentences, whitespace collapsed (rules in the module docstring).

    >>> split_sentences("Nodule 2.5 cm, e.g. in the RUL. Dr. Smith was not called.")
    ['Nodule 2.5 cm, e.g. in the RUL.', 'Dr. Smith was not called.']
    """
    return [" ".join(text[a:b].split()) for a, b in sentence_spans(text)]


def parse_prose(text: str, kind: str, *, flags: tuple[str, ...] = (), prefix: str = "f") -> ParseResult:
    """One finding per sentence, region by the lexicon (``other``/``lungs`` when none matches).

    Args:
        text: Report text (findings section or whole report).
        kind: ``ct`` or ``cxr``.
        flags: Flags to put on every finding (the other parsers pass ``malformed_output``).
        prefix: Finding id prefix.
    """
    findings = tuple(finding_for(s, kind, i + 1, flags=flags, prefix=prefix)
                     for i, s in enumerate(split_sentences(text)))
    return ParseResult(findings)
