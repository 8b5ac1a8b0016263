"""Import drafts produced elsewhere into the worklist: read → match to studies → flag → store.

Used by ``radreview ingest PATH... --drafts FILE --drafts-format F`` and by
``radreview import-drafts``. The reading and matching are pure (:mod:`inference.importers`); this
module only adds the repository writes and the summary printed for the user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.importers import ImportProblem, ImportResult, read_drafts
from inference.importers.matching import MatchBy, apply_context, match_drafts, study_index
from inference.records import regions_for

StudyWithSources = tuple[Any, Sequence[str]]  # (viewer.records.Study, file names it was read from)


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored and what it could not.

    Attributes:
        fmt: Format read.
        path: File or folder read.
        saved: ``(case_id, draft_id, row)`` per stored draft.
        problems: Rows that could not be read, matched, or stored (row order).
        references: Ground-truth reports carried by the stored rows.
        references_stored: How many of them were stored (0 until the repository has a place for them).
    """

    fmt: str
    path: str
    saved: tuple[tuple[str, str, int], ...]
    problems: tuple[ImportProblem, ...]
    references: int = 0
    references_stored: int = 0


def _draft_kind(draft: Any) -> str:
    regions = tuple(s.region for s in draft.sections)
    return "ct" if regions == regions_for("ct") else "cxr"


def _common_kind(studies: Iterable[StudyWithSources]) -> str | None:
    kinds = {study.kind for study, _ in studies}
    return kinds.pop() if len(kinds) == 1 else None


def _kind_problems(result: ImportResult, by_case: dict[str, Any]) -> tuple[ImportResult, list[ImportProblem]]:
    keep, problems = [], []
    for item in result.drafts:
        study_kind, draft_kind = by_case[item.draft.case_id].kind, _draft_kind(item.draft)
        if study_kind == draft_kind:
            keep.append(item)
        else:
            problems.append(ImportProblem(item.row, item.match_key,
                                          f"the draft is a {draft_kind} report but study "
                                          f"{item.draft.case_id!r} is {study_kind}; pass --drafts-kind"))
    return dataclasses.replace(result, drafts=tuple(keep)), problems


def import_drafts(repo: Any, path: str | Path, fmt: str, studies: Sequence[StudyWithSources], *,
                  match_by: MatchBy = "id", kind: str | None = None) -> ImportSummary:
    """Read a drafts file, match its rows to ``studies``, flag them in context and store them.

    Args:
        repo: An open :class:`storage.repository.Repository`; the studies must be registered.
        path: The drafts file (or folder for ``text``/``vividmed``).
        fmt: An :func:`inference.importers.format_names` entry.
        studies: The studies rows may match, each with the file names it was read from.
        match_by: ``id`` (row id = case id) or ``filename`` (row id = a study file's stem).
        kind: ``cxr``/``ct`` of the rows; by default the studies' kind when they all share one,
            else the format's default.

    Returns:
        The summary; every row is either saved or listed in ``problems``.
    """
    result = read_drafts(path, fmt, kind=kind or _common_kind(studies))
    index = study_index(((s.case_id, sources) for s, sources in studies), match_by)
    by_case = {s.case_id: s for s, _ in studies}
    matched = match_drafts(result, index, match_by)
    matched, kind_problems = _kind_problems(matched, by_case)
    flagged = apply_context(matched, by_case)
    saved = tuple((d.draft.case_id, repo.save_draft(d.draft), d.row) for d in flagged.drafts)
    references = sum(d.reference_text is not None for d in flagged.drafts)
    problems = tuple(sorted((*flagged.problems, *kind_problems), key=lambda p: p.row))
    return ImportSummary(result.fmt, str(path), saved, problems, references, 0)


def summary_lines(summary: ImportSummary) -> list[str]:
    """Human-readable lines: one for the totals, one per problem (never silently dropped)."""
    lines = [f"imported {len(summary.saved)} {summary.fmt} draft(s) from {summary.path}; "
             f"{len(summary.problems)} row(s) not imported"]
    lines += [f"  row {p.row}" + (f" ({p.match_key})" if p.match_key else "") + f": {p.reason}"
              for p in summary.problems]
    if summary.references > summary.references_stored:
        lines.append(f"  {summary.references - summary.references_stored} reference report(s) in the file "
                     "were not stored: this database has no table for reference reports yet")
    return lines


def summary_json(summary: ImportSummary) -> dict[str, Any]:
    """The summary as one JSON-able object (for ``--json``)."""
    return {
        "format": summary.fmt, "path": summary.path,
        "saved": [{"case_id": c, "draft_id": d, "row": r} for c, d, r in summary.saved],
        "problems": [dataclasses.asdict(p) for p in summary.problems],
        "references": summary.references, "references_stored": summary.references_stored,
    }
