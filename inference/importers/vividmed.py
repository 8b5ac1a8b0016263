"""``vividmed``: VividMed output, with grounded phrases tagged ``<p>phrase</p>``.

Input is a table (``.jsonl``/``.json``/``.csv`` with an id and a ``text``/``prediction`` column), a
single ``.txt`` file or a folder of them (keyed by file stem). Each report goes through the VividMed
``<p>`` parser; the sentences then get regions like any other draft. A per-row ``kind`` column
(``cxr``/``ct``) overrides the default, since VividMed reads both.

VividMed's own evaluation CSV (function2-llx/MMMM@c3c9caa, ``scripts/evaluate/models/mmmm.py``
``mmmm_vl_evaluate`` → ``scripts/evaluate/utils.py`` ``dump_results``: ``pd.DataFrame(results).to_csv``)
has exactly the columns ``question, answer, prediction`` and no id: its rows are keyed by their 1-based
data-row number (add an ``id`` column to match them to studies by name), ``answer`` (the ground truth)
becomes the reference report and ``question`` the recorded prompt.
"""

from __future__ import annotations

from pathlib import Path

from inference.importers import parse
from inference.importers.base import ImportedDraft, ImportProblem, ImportResult, assemble, provenance
from inference.importers.tables import document_label, pick, read_documents, read_rows

NAME = "vividmed"
DEFAULT_KIND = "cxr"


def read(path: Path, *, kind: str = DEFAULT_KIND) -> ImportResult:
    """Read VividMed ``<p>``-tagged reports into drafts.

    Args:
        path: Table, text file or folder (see module docstring).
        kind: Study kind when a row does not say (``cxr`` or ``ct``).
    """
    if _is_eval_csv(path):
        return _read_eval_csv(path, kind)
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



EVAL_COLUMNS = ("question", "answer", "prediction")


def _is_eval_csv(path: Path) -> bool:
    """A table whose columns are exactly upstream's ``question, answer, prediction`` (no id)."""
    if path.is_dir() or path.suffix.lower() not in (".csv", ".jsonl", ".json"):
        return False
    rows = read_rows(path)
    return bool(rows) and set(rows[0][1]) == set(EVAL_COLUMNS)


def _read_eval_csv(path: Path, kind: str) -> ImportResult:
    drafts: list[ImportedDraft] = []
    errors: list[ImportProblem] = []
    for row, record in read_rows(path):
        text = record.get("prediction")
        if not isinstance(text, str) or not text.strip():
            errors.append(ImportProblem(row, str(row), "empty prediction"))
            continue
        prov = provenance(NAME, path, row, model_id=None, prompts=[str(record.get("question") or "")])
        findings, impression = parse.vividmed_findings(text, kind)
        answer = record.get("answer")
        drafts.append(ImportedDraft(
            match_key=str(row), draft=assemble(str(row), kind, findings, impression, prov),
            reference_text=answer if isinstance(answer, str) else None, row=row, source_file=path.name))
    return ImportResult(NAME, str(path), tuple(drafts), tuple(errors))
