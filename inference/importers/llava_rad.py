"""``llava-rad``: LLaVA-Rad's evaluation output, one JSON object per line.

LLaVA-Rad's ``llava/eval/model_mimic_cxr.py`` (github.com/microsoft/LLaVA-Rad, commit 1fc4409,
``eval_model``) writes each prediction as::

    {"id": query["id"], "query": <prompt text>, "reference": <ground-truth findings>,
     "prediction": <generated findings>}

and ``llava/eval/rrg_eval/run.py`` reads back ``prediction`` and ``reference``. Files written by
upstream LLaVA's ``model_vqa.py`` (``question_id``, ``prompt``, ``text``, ``model_id``) are accepted
too. The prediction is prose: it goes through sentence splitting and region assignment.
"""

from __future__ import annotations

from pathlib import Path

from inference.importers import parse
from inference.importers.base import ImportedDraft, ImportProblem, ImportResult, assemble, provenance
from inference.importers.tables import keyed_texts, pick

NAME = "llava-rad"
DEFAULT_KIND = "cxr"
ID_FIELDS = ("id", "question_id", "study_id", "dicom_id")
TEXT_FIELDS = ("prediction", "text", "output")
PROMPT_FIELDS = ("query", "prompt")
REFERENCE_FIELDS = ("reference", "answer", "ground_truth")


def read(path: Path, *, kind: str = DEFAULT_KIND) -> ImportResult:
    """Read a LLaVA-Rad prediction JSONL into drafts.

    Args:
        path: The ``.jsonl`` file (``.json`` arrays are accepted too).
        kind: Study kind of the rows (LLaVA-Rad reads frontal chest X-rays: ``cxr``).

    Returns:
        Drafts keyed by ``id``; rows with no id or no prediction are reported in ``errors``.
    """
    drafts: list[ImportedDraft] = []
    errors: list[ImportProblem] = []
    for row, record, key, text in keyed_texts(path, ("id", ID_FIELDS), ("prediction", TEXT_FIELDS),
                                              ("no id", "no prediction text"), errors):
        prov = provenance(NAME, path, row, model_id=pick(record, ("model_id", "model")),
                          prompts=[str(pick(record, PROMPT_FIELDS) or "")])
        findings, impression = parse.report_findings(text, kind)
        reference = pick(record, REFERENCE_FIELDS)
        drafts.append(ImportedDraft(
            match_key=key, draft=assemble(key, kind, findings, impression, prov),
            reference_text=reference if isinstance(reference, str) else None, row=row,
            source_file=path.name))
    return ImportResult(NAME, str(path), tuple(drafts), tuple(errors))
