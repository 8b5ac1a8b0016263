"""``vividmed``: VividMed output, with grounded phrases tagged ``<p>phrase</p>``.

Input is a table (``.jsonl``/``.json``/``.csv`` with an id and a ``text``/``prediction`` column), a
single ``.txt`` file or a folder of them (keyed by file stem). Each report goes through the VividMed
``<p>`` parser; the sentences then get regions like any other draft. A per-row ``kind`` column
(``cxr``/``ct``) overrides the default, since VividMed reads both.
"""

from __future__ import annotations

from pathlib import Path

from inference.importers import parse
from inference.importers.base import ImportedDraft, ImportProblem, ImportResult, assemble, provenance
from inference.importers.tables import document_label, pick, read_documents

NAME = "vividmed"
DEFAULT_KIND = "cxr"


def read(path: Path, *, kind: str = DEFAULT_KIND) -> ImportResult:
    """Read VividMed ``<p>``-tagged reports into drafts.

    Args:
        path: Table, text file or folder (see module docstring).
        kind: Study kind when a row does not say (``cxr`` or ``ct``).
    """
    documents, problems = read_documents(path)
    drafts: list[ImportedDraft] = []
    errors = [ImportProblem(row, None, reason) for row, reason in problems]
    for row, key, text, record in documents:
        row_kind = str(pick(record, ("kind", "modality_kind")) or kind).lower()
        if row_kind not in ("cxr", "ct"):
            errors.append(ImportProblem(row, key, f"kind {row_kind!r} is neither 'cxr' nor 'ct'"))
            continue
        prov = provenance(NAME, *document_label(path, row, record),
                          model_id=pick(record, ("model_id", "model")),
                          prompts=[str(pick(record, ("prompt", "query")) or "")])
        findings, impression = parse.vividmed_findings(text, row_kind)
        reference = pick(record, ("reference", "ground_truth"))
        drafts.append(ImportedDraft(
            match_key=key, draft=assemble(key, row_kind, findings, impression, prov),
            reference_text=reference if isinstance(reference, str) else None, row=row,
            source_file=str(record.get("file") or path.name)))
    return ImportResult(NAME, str(path), tuple(drafts), tuple(sorted(errors, key=lambda p: p.row)))

