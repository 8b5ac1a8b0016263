"""Tie imported drafts to studies, by the file's id column or by file name; report what does not match.

Matching is by exact key: ``by="id"`` compares a row's id with the study's case id; ``by="filename"``
compares it with the study's file names with every suffix removed (``CXR1_1_IM-0001.dcm`` →
``CXR1_1_IM-0001``, ``ct_042.nii.gz`` → ``ct_042``), case-insensitively. Nothing is guessed: a row
that matches no study, or more than one, is reported in ``ImportResult.unmatched``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import PurePath
from typing import Literal

from inference.importers.base import ImportedDraft, ImportProblem, ImportResult
from viewer.records import Study

MatchBy = Literal["id", "filename"]


def file_key(name: str) -> str:
    """A file name without folders and without any suffix, case-folded (``a/B.nii.gz`` → ``b``)."""
    stem = PurePath(name.rstrip("/\\")).name
    return stem.split(".", 1)[0].casefold() if not stem.startswith(".") else stem.casefold()


def study_index(studies: Iterable[tuple[str, Iterable[str]]], by: MatchBy) -> dict[str, set[str]]:
    """The lookup table for :func:`match_drafts`.

    Args:
        studies: ``(case_id, source file names)`` per study (the files or folder it was read from).
        by: ``id`` or ``filename``.

    Returns:
        ``{key: {case ids}}``; a key shared by several studies maps to all of them (ambiguous).
    """
    index: dict[str, set[str]] = {}
    for case_id, sources in studies:
        keys = {case_id} if by == "id" else {file_key(s) for s in sources}
        for key in keys:
            index.setdefault(key, set()).add(case_id)
    return index


def _lookup(key: str, index: Mapping[str, set[str]], by: MatchBy) -> set[str]:
    return set(index.get(key if by == "id" else file_key(key), set()))


def match_drafts(result: ImportResult, index: Mapping[str, set[str]], by: MatchBy) -> ImportResult:
    """Re-key each imported draft to its study's case id; list the rest as unmatched.

    Args:
        result: What :func:`inference.importers.read_drafts` returned.
        index: From :func:`study_index`.
        by: What the index was built on.

    Returns:
        A result whose ``drafts`` carry the matched case ids and whose ``unmatched`` names every row
        that matched no study or several.
    """
    matched: list[ImportedDraft] = []
    unmatched: list[ImportProblem] = list(result.unmatched)
    for item in result.drafts:
        cases = _lookup(item.match_key, index, by)
        if len(cases) == 1:
            case_id = cases.pop()
            matched.append(replace(item, draft=replace(item.draft, case_id=case_id)))
        elif not cases:
            unmatched.append(ImportProblem(item.row, item.match_key,
                                           f"no study with {'case id' if by == 'id' else 'file name'} "
                                           f"{item.match_key!r}"))
        else:
            unmatched.append(ImportProblem(item.row, item.match_key,
                                           f"{item.match_key!r} matches several studies: "
                                           f"{', '.join(sorted(cases))}"))
    return replace(result, drafts=tuple(matched), unmatched=tuple(unmatched))


def apply_context(result: ImportResult, studies: Mapping[str, Study]) -> ImportResult:
    """Compute the context flags of every matched draft against its study (DESIGN §5).

    Imported drafts get the same flags as generated ones: prior references when the study has no
    prior, lateral-view references without a lateral, procedures/communication, ungrounded lesions.

    Args:
        result: A result whose drafts carry study case ids (after :func:`match_drafts`).
        studies: ``{case_id: Study}`` for those case ids.

    Raises:
        KeyError: a draft's case id has no study in ``studies``.
    """
    from inference.flags import apply_flags

    missing = sorted({d.draft.case_id for d in result.drafts} - set(studies))
    if missing:
        raise KeyError(f"no study given for matched case ids {', '.join(missing)}")
    flagged = tuple(replace(d, draft=apply_flags(d.draft, studies[d.draft.case_id])) for d in result.drafts)
    return replace(result, drafts=flagged)
