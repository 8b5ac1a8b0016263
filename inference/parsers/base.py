"""What every parser returns, and the helpers they share (sentence findings, section grouping)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from inference.parsers.lexicon import fallback_region, region_for
from inference.records import Finding, Phrase, Section, regions_for

MALFORMED = "malformed_output"


@dataclass(frozen=True)
class ParseResult:
    """A parsed model output.

    Attributes:
        findings: One per sentence (or per grounded object), with regions from the grammar or lexicon.
        malformed: True when the output did not follow the grammar and was read as plain prose;
            every finding then carries the ``malformed_output`` flag.
        problems: What was wrong, for logs and the reviewer.
    """

    findings: tuple[Finding, ...]
    malformed: bool = False
    problems: tuple[str, ...] = ()

    def sections(self, kind: str) -> tuple[Section, ...]:
        """The findings grouped by region in DESIGN §4 order."""
        return group_sections(self.findings, kind)


def group_sections(findings: Iterable[Finding], kind: str) -> tuple[Section, ...]:
    """Group findings into one :class:`Section` per region, in DESIGN §4 order (keeps finding order)."""
    order = regions_for(kind)
    by_region: dict[str, list[Finding]] = {r: [] for r in order}
    for f in findings:
        by_region.setdefault(f.region if f.region in by_region else fallback_region(kind), []).append(f)
    return tuple(Section(r, tuple(by_region[r])) for r in order)


def finding_for(text: str, kind: str, index: int, *, region: str | None = None,
                phrases: Sequence[Phrase] = (), flags: Sequence[str] = (), prefix: str = "f") -> Finding:
    """A model finding with id ``{prefix}{index}``; region from ``region`` or the lexicon."""
    chosen = region or region_for(text, kind) or fallback_region(kind)
    return Finding(id=f"{prefix}{index}", region=chosen, text=text, phrases=tuple(phrases),
                   flags=tuple(flags), origin="model")
