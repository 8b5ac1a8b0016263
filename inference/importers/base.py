"""Records shared by the draft importers: what one imported row becomes, and what a whole file gives.

An importer is a pure function ``read(path, kind=...) -> ImportResult``: it reads a file written by
another system (LLaVA-Rad's evaluation JSONL, Reg2RG's result CSV…) and returns one
:class:`ImportedDraft` per usable row plus one :class:`ImportProblem` per row it could not use —
nothing is dropped silently. Drafts come back keyed by the file's own id (``match_key``); matching
them to studies is :mod:`inference.importers.matching`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from inference.draft import package_version
from inference.records import Draft, Finding, Provenance, Section, regions_for
from viewer.errors import StudyLoadError

UNKNOWN_MODEL = "unknown (imported)"


class ImportFileError(StudyLoadError):
    """A drafts file that cannot be read at all (CLI exit code 3); row-level problems are not raised."""

    def __init__(self, message: str) -> None:
        path, _, reason = message.partition(": ")
        super().__init__(path, reason or message)


@dataclass(frozen=True)
class ImportedDraft:
    """One row of an imported file, parsed into a draft.

    Attributes:
        match_key: The row's id (accession number, question id, file stem) used to find its study.
        draft: The parsed draft; ``case_id`` is ``match_key`` until matched to a study.
        reference_text: A ground-truth report carried by the row (Reg2RG's GT column,
            LLaVA-Rad's ``reference``), else ``None``.
        row: 1-based row of the source file (line for JSONL, data row for CSV, 1 for a single report).
        indication: The INDICATION/HISTORY section when the source has one.
        comparison: The COMPARISON section when the source has one (``None.`` means no prior).
        source_file: Name of the file the row came from.
    """

    match_key: str
    draft: Draft
    reference_text: str | None
    row: int
    indication: str | None = None
    comparison: str | None = None
    source_file: str = ""


@dataclass(frozen=True)
class ImportProblem:
    """A row that could not be imported, or an imported draft that matched no study.

    Attributes:
        row: 1-based row in the source file.
        match_key: The row's id if it had one.
        reason: What is wrong and how to fix it.
    """

    row: int
    match_key: str | None
    reason: str


@dataclass(frozen=True)
class ImportResult:
    """Everything one file gave.

    Attributes:
        fmt: The format name it was read as.
        path: The file or folder read.
        drafts: One per usable row, in file order.
        errors: Rows that could not be parsed.
        unmatched: Drafts that matched no study (filled in by matching).
    """

    fmt: str
    path: str
    drafts: tuple[ImportedDraft, ...] = ()
    errors: tuple[ImportProblem, ...] = ()
    unmatched: tuple[ImportProblem, ...] = field(default=())

    @property
    def problems(self) -> tuple[ImportProblem, ...]:
        """Unparseable rows and unmatched drafts together, in row order."""
        return tuple(sorted((*self.errors, *self.unmatched), key=lambda p: p.row))


def provenance(fmt: str, path: Path, row: int, *, model_id: str | None = None,
               prompts: Sequence[str] = (), model_revision: str | None = None) -> Provenance:
    """The provenance of an imported draft: ``import:<fmt>``, its model and the file and row it came from.

    ``created_at`` is the import time; ``input_sha256s`` stay empty because the file does not
    prove which image bytes the source model read.

    Args:
        fmt: Importer name (``llava-rad``, ``reg2rg``…).
        path: The source file.
        row: 1-based row in it.
        model_id: The model named by the file, if any.
        prompts: The prompt(s) the file records, if any.
        model_revision: A checkpoint revision named by the file, if any.
    """
    return Provenance(
        generator=f"import:{fmt}",
        model_id=model_id or UNKNOWN_MODEL,
        model_revision=model_revision,
        device="n/a (imported)",
        prompts=tuple(p for p in prompts if p),
        label=f"{path.name} row {row}",
        package_version=package_version(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def assemble(case_id: str, kind: str, findings: Sequence[Finding], impression: str | None,
             prov: Provenance) -> Draft:
    """Group findings into per-region sections in DESIGN §4 order, numbering findings ``f001``….

    Args:
        case_id: The draft's case id (the row's match key before matching).
        kind: ``cxr`` or ``ct``.
        findings: Findings in report order; each must have a region of ``kind``.
        impression: Impression text or ``None``.
        prov: Provenance of the import.

    Raises:
        ValueError: a finding's region is not one of ``kind``'s regions.
    """
    order = regions_for(kind)
    by_region: dict[str, list[Finding]] = {r: [] for r in order}
    for number, finding in enumerate(findings, start=1):
        if finding.region not in by_region:
            raise ValueError(f"finding {finding.text!r} has region {finding.region!r}, "
                             f"not one of the {kind} regions {', '.join(order)}")
        by_region[finding.region].append(_renumber(finding, number))
    sections = tuple(Section(region=r, findings=tuple(by_region[r])) for r in order)
    return Draft(case_id=case_id, sections=sections, impression=impression or None, provenance=prov)


def _renumber(finding: Finding, number: int) -> Finding:
    from dataclasses import replace

    return replace(finding, id=f"f{number:03d}")
