"""Import drafts produced elsewhere into the worklist: read → match to studies → flag → store.

Used by ``radreview ingest PATH... --drafts FILE --drafts-format F`` and by
``radreview import-drafts``. The reading and matching are pure (:mod:`inference.importers`); this
module only adds the repository writes and the summary printed for the user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.importers import FORMATS, ImportProblem, ImportResult, format_names, read_drafts
from inference.importers.matching import MatchBy, apply_context, match_drafts, study_index
from inference.records import regions_for
from viewer.names import unknown_name

if TYPE_CHECKING:
    from storage.repository import Repository
    from viewer.records import Study

StudyWithSources = tuple["Study", Sequence[str]]  # (viewer.records.Study, file names it was read from)


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored and what it could not.

    Attributes:
        fmt: Format read.
        path: File or folder read.
        saved: ``(case_id, draft_id, row)`` per stored draft.
        problems: Rows that could not be read, matched, or stored (row order).
        references: Ground-truth reports carried by the stored rows.
        references_stored: How many of them were stored (one per saved draft that carries one).
    """

    fmt: str
    path: str
    saved: tuple[tuple[str, str, int], ...]
    problems: tuple[ImportProblem, ...]
    references: int = 0
    references_stored: int = 0


Candidate = tuple[str, str, Sequence[str]]  # (case_id, kind, file names)


def _draft_kind(draft: Any) -> str:
    regions = tuple(s.region for s in draft.sections)
    return "ct" if regions == regions_for("ct") else "cxr"


def _common_kind(candidates: Sequence[Candidate]) -> str | None:
    kinds = {kind for _, kind, _ in candidates}
    return kinds.pop() if len(kinds) == 1 else None


def _kind_problems(result: ImportResult, kinds: dict[str, str]) -> tuple[ImportResult, list[ImportProblem]]:
    keep, problems = [], []
    for item in result.drafts:
        study_kind, draft_kind = kinds[item.draft.case_id], _draft_kind(item.draft)
        if study_kind == draft_kind:
            keep.append(item)
        else:
            problems.append(ImportProblem(item.row, item.match_key,
                                          f"the draft is a {draft_kind} report but study "
                                          f"{item.draft.case_id!r} is {study_kind}; import it with the "
                                          f"kind set to {study_kind}"))
    return dataclasses.replace(result, drafts=tuple(keep)), problems


def _read(path: str | Path, fmt: str, kind: str | None) -> ImportResult:
    from app.errors import CliError

    if fmt not in FORMATS:
        raise CliError(unknown_name("drafts format", fmt, format_names()), 2)
    return read_drafts(path, fmt, kind=kind)


def import_matched(repo: Repository, path: str | Path, fmt: str, candidates: Sequence[Candidate],
                   load_study: Callable[[str], Study], *, match_by: MatchBy = "id",
                   kind: str | None = None) -> ImportSummary:
    """Read a drafts file, match its rows to candidate studies, flag them in context and store them.

    Args:
        repo: An open :class:`storage.repository.Repository`; the studies must be registered.
        path: The drafts file (or folder for ``text``/``vividmed``).
        fmt: An :func:`inference.importers.format_names` entry.
        candidates: ``(case_id, kind, file names)`` of the studies rows may match.
        load_study: Returns the :class:`viewer.records.Study` of a matched case id (its prior and
            lateral decide the context flags); called once per matched study.
        match_by: ``id`` (row id = case id) or ``filename`` (row id = a study file's stem).
        kind: ``cxr``/``ct`` of the rows; by default the candidates' kind when they all share one,
            else the format's default.

    Returns:
        The summary; every row is either saved or listed in ``problems``.

    Raises:
        CliError: unknown format (exit 2).
        ImportFileError: the file cannot be read at all (exit 3).
    """
    result = _read(path, fmt, kind or _common_kind(candidates))
    index = study_index(((case, sources) for case, _, sources in candidates), match_by)
    matched = match_drafts(result, index, match_by)
    matched, kind_problems = _kind_problems(matched, {case: k for case, k, _ in candidates})
    studies = {case: load_study(case) for case in dict.fromkeys(d.draft.case_id for d in matched.drafts)}
    flagged = apply_context(matched, studies)
    saved = tuple((d.draft.case_id, repo.save_draft(d.draft), d.row) for d in flagged.drafts)
    references = sum(d.reference_text is not None for d in flagged.drafts)
    stored = _store_references(repo, flagged.drafts, result.fmt, Path(path).name)
    problems = tuple(sorted((*flagged.problems, *kind_problems), key=lambda p: p.row))
    return ImportSummary(result.fmt, str(path), saved, problems, references, stored)


def _store_references(repo: Repository, drafts: Sequence[Any], fmt: str, default_file: str) -> int:
    """Append the non-blank ground-truth reports of stored rows; returns how many were stored."""
    stored = 0
    for item in drafts:
        text = item.reference_text
        if text is None or not text.strip():
            continue
        repo.save_reference(item.draft.case_id, text, (item.source_file or default_file, fmt, item.row))
        stored += 1
    return stored


def import_drafts(repo: Repository, path: str | Path, fmt: str, studies: Sequence[StudyWithSources], *,
                  match_by: MatchBy = "id", kind: str | None = None) -> ImportSummary:
    """:func:`import_matched` for studies already in memory (``radreview ingest --drafts``).

    Args:
        repo: An open repository in which ``studies`` are registered.
        path: The drafts file.
        fmt: Its format.
        studies: ``(Study, file names it was read from)`` per study.
        match_by: ``id`` or ``filename``.
        kind: Kind of the rows (default: the studies' common kind).
    """
    by_case = {s.case_id: s for s, _ in studies}
    candidates = [(s.case_id, s.kind, tuple(sources)) for s, sources in studies]
    return import_matched(repo, path, fmt, candidates, by_case.__getitem__, match_by=match_by, kind=kind)


def summary_lines(summary: ImportSummary) -> list[str]:
    """Human-readable lines: one for the totals, one per problem (never silently dropped)."""
    lines = [f"imported {len(summary.saved)} {summary.fmt} draft(s) from {summary.path}; "
             f"{len(summary.problems)} row(s) not imported"]
    lines += [f"  row {p.row}" + (f" ({p.match_key})" if p.match_key else "") + f": {p.reason}"
              for p in summary.problems]
    if summary.references > summary.references_stored:
        lines.append(f"  {summary.references - summary.references_stored} reference report(s) in the file "
                     "were blank and not stored")
    if summary.references_stored:
        lines.append(f"  stored {summary.references_stored} reference report(s) for the dashboard's "
                     "BLEU/ROUGE-L")
    return lines


def summary_json(summary: ImportSummary) -> dict[str, Any]:
    """The summary as one JSON-able object (for ``--json``)."""
    return {
        "format": summary.fmt, "path": summary.path,
        "saved": [{"case_id": c, "draft_id": d, "row": r} for c, d, r in summary.saved],
        "problems": [dataclasses.asdict(p) for p in summary.problems],
        "references": summary.references, "references_stored": summary.references_stored,
    }
