"""Reg2RG region-guided CT grammar: ``The region i is <area>: text`` repeated per region.

Upstream (zhi-xuan-chen/Reg2RG@4effe09, ``src/Dataset/radgenome_dataset_test.py``) numbers the regions
of one prompt from 0 in its own region order and the model names each region's area. The area name
decides the region (case-insensitive; Reg2RG's spellings "lung", "bone", "breast", "trachea and
bronchie" and lexicon synonyms accepted; ``other`` is the CT ``other`` section). When the name is not a
CT region, ``i`` is read as the 0-based position in the prompt's region list (``regions``, from the
request); without that list, or out of range, the sentences go to the CT ``other`` section and carry
``malformed_output`` (the model named an area outside the regions, e.g. "cerebellum"). Output with no
region header at all is parsed as prose, flagged. Text before the first header is prose (unflagged).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from inference.parsers._text import collapse_whitespace, findings_from_spans
from inference.parsers.base import MALFORMED, ParseResult
from inference.parsers.lexicon import region_for
from inference.parsers.prose import parse_prose
from inference.records import CT_SECTIONS, Finding, regions_for

_HEADER = re.compile(r"the region\s+(\d+)\s+is\s+([^:.\n]{1,60}?)\s*:", re.IGNORECASE)
_LABEL_ONLY = re.compile(r"(?:findings|report|generated report)?\s*:?\s*", re.IGNORECASE)
_ALIASES = {"trachea and bronchie": "trachea and bronchi", "trachea": "trachea and bronchi",
            "bronchi": "trachea and bronchi", "lung": "lungs", "breast": "breasts", "bone": "bones",
            "oesophagus": "esophagus"}


def region_of_area(
    area: str, index: int | None = None, regions: Sequence[str] | None = None
) -> str | None:
    """The CT section for a Reg2RG area name, else region ``index`` (0-based) of ``regions``, else None."""
    name = " ".join(area.lower().split())
    if name in CT_SECTIONS:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    lexical = region_for(name, "ct")
    if lexical is not None:
        return lexical
    if index is not None and regions is not None and 0 <= index < len(regions):
        return regions[index]
    return None


def parse_reg2rg(text: str, kind: str = "ct", *, regions: Sequence[str] | None = None) -> ParseResult:
    """Parse Reg2RG output into findings whose regions come from the headers (see module docstring).

    Args:
        text: The model's answer.
        kind: ``ct``.
        regions: The region at each 0-based "The region i" position of the prompt answered.
    """
    headers = list(_HEADER.finditer(text))
    if not headers:
        prose = parse_prose(text, kind, flags=(MALFORMED,))
        return ParseResult(prose.findings, malformed=True, problems=("no 'The region i is <area>:' header",))
    findings: list[Finding] = []
    problems: list[str] = []
    preamble = collapse_whitespace(text[: headers[0].start()])
    if not _LABEL_ONLY.fullmatch(preamble):
        findings += findings_from_spans(preamble, [], kind)
    for n, header in enumerate(headers):
        end = headers[n + 1].start() if n + 1 < len(headers) else len(text)
        body = collapse_whitespace(text[header.end() : end])
        region = region_of_area(header.group(2), int(header.group(1)), regions)
        flags: tuple[str, ...] = ()
        if region is None:  # an area outside the CT regions ("cerebellum"): the other section, flagged
            problems.append(f"unknown region {header.group(2)!r} (index {header.group(1)})")
            flags = (MALFORMED,)
            region = "other" if "other" in regions_for(kind) else None
        findings += findings_from_spans(body, [], kind, start_index=len(findings) + 1, region=region,
                                        flags=flags)
    return ParseResult(tuple(findings), malformed=bool(problems), problems=tuple(problems))
