"""Split a radiology report into its INDICATION / COMPARISON / TECHNIQUE / FINDINGS / IMPRESSION sections.

Headers are matched case-insensitively with their common variants (``HISTORY``, ``CLINICAL
INDICATION``, ``REASON FOR EXAM``, ``COMPARISONS``, ``CONCLUSION``, ``FINDINGS AND IMPRESSION``,
``FINDINGS/IMPRESSION``). A header counts when it starts a line and is followed by a colon or the
end of the line, or — in upper case — anywhere in a line when followed by a colon (flattened reports
such as ``FINDINGS: … IMPRESSION: …``). Text before the first header is kept under ``preamble``; a
report with no header at all is all findings.

>>> split_sections("INDICATION: cough.\\nFINDINGS: Lungs are clear.\\nImpression: Normal.")["impression"]
'Normal.'
"""

from __future__ import annotations

import re

# canonical name -> header spellings (regex fragments, longest first where they share a prefix)
_HEADERS: dict[str, tuple[str, ...]] = {
    "findings_impression": (r"findings\s*(?:and|&|/)\s*impressions?",),
    "indication": (r"clinical\s+indications?", r"indications?", r"clinical\s+history", r"history",
                   r"reason\s+for\s+(?:exam(?:ination)?|study)", r"clinical\s+information"),
    "comparison": (r"comparisons?",),
    "technique": (r"technique", r"examination", r"exam", r"procedure"),
    "findings": (r"findings?",),
    "impression": (r"impressions?", r"conclusions?", r"summary"),
    "notification": (r"notifications?", r"recommendations?"),
}
SECTION_NAMES: tuple[str, ...] = ("preamble", *_HEADERS)

_ALTERNATION = "|".join(
    f"(?P<{name}>{'|'.join(spellings)})" for name, spellings in _HEADERS.items())
_LINE_START = re.compile(rf"^[ \t]*(?:{_ALTERNATION})[ \t]*(?::|$)", re.IGNORECASE | re.MULTILINE)
_INLINE_UPPER = re.compile(
    r"(?<![A-Za-z])(?P<word>FINDINGS\s*(?:AND|&|/)\s*IMPRESSIONS?|CLINICAL\s+INDICATIONS?|INDICATIONS?|"
    r"CLINICAL\s+HISTORY|HISTORY|COMPARISONS?|TECHNIQUE|FINDINGS?|IMPRESSIONS?|CONCLUSIONS?|"
    r"RECOMMENDATIONS?|NOTIFICATIONS?)[ \t]*:")


def canonical_header(label: str) -> str | None:
    """The canonical section name of a header label (``"Findings and Impression"`` → ``findings_impression``).

    Returns:
        One of :data:`SECTION_NAMES` (never ``preamble``), or ``None`` for an unknown label.
    """
    text = " ".join(label.replace("_", " ").split()).rstrip(":").strip()
    for name, spellings in _HEADERS.items():
        if any(re.fullmatch(s, text, re.IGNORECASE) for s in spellings):
            return name
    return None


def _header_positions(text: str) -> list[tuple[int, int, str]]:
    marks: dict[int, tuple[int, int, str]] = {}
    for match in _LINE_START.finditer(text):
        name = next(k for k, v in match.groupdict().items() if v is not None)
        marks[match.start()] = (match.start(), match.end(), name)
    for match in _INLINE_UPPER.finditer(text):
        inline = canonical_header(match.group("word"))
        covered = any(s <= match.start() < e for s, e, _ in marks.values())
        if inline and not covered:
            marks[match.start()] = (match.start(), match.end(), inline)
    return sorted(marks.values())


def split_sections(text: str) -> dict[str, str]:
    """Split report text into named sections.

    Args:
        text: The report as written (any line endings).

    Returns:
        ``{section name: text}`` for each section present, whitespace-normalised, in
        :data:`SECTION_NAMES` vocabulary; repeated headers are joined with a space. Text with no
        header at all is returned as ``{"findings": text}``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    marks = _header_positions(text)
    if not marks:
        body = " ".join(text.split())
        return {"findings": body} if body else {}
    sections: dict[str, str] = {}
    _add(sections, "preamble", text[: marks[0][0]])
    for (_, end, name), nxt in zip(marks, [*marks[1:], (len(text), 0, "")], strict=True):
        _add(sections, name, text[end: nxt[0]])
    return sections


def _add(sections: dict[str, str], name: str, chunk: str) -> None:
    body = " ".join(chunk.split())
    if body:
        sections[name] = f"{sections[name]} {body}" if name in sections else body


def findings_and_impression(sections: dict[str, str]) -> tuple[str, str | None]:
    """The text to split into findings and the impression, from :func:`split_sections` output.

    ``FINDINGS AND IMPRESSION`` counts as findings (with no separate impression). A report with
    only an IMPRESSION has its impression sentences reviewed as findings (and no separate
    impression), so nothing in it escapes region assignment and flags.
    """
    findings = " ".join(s for s in (sections.get("findings"), sections.get("findings_impression")) if s)
    impression = sections.get("impression")
    if not findings and impression:
        return impression, None
    return findings, impression
