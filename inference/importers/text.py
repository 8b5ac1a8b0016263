"""``text``: plain report text, or a radiology report with INDICATION / COMPARISON / FINDINGS / IMPRESSION.

Accepted: one ``.txt`` report, a folder of ``.txt``/``.xml`` reports (each keyed by its file stem), a
table (``.jsonl``/``.json``/``.csv``) with an id and a ``report``/``text`` column, or report XML in
the Open-i (Indiana University chest X-ray) layout, ``<AbstractText Label="FINDINGS">…``, or any
XML whose element names are section names (``<findings>…</findings>``). XML with a DTD or entity
declarations is refused (no entity expansion, no external fetches).

Sections are found by :mod:`inference.importers.sections`; FINDINGS (or FINDINGS AND IMPRESSION)
is split into sentences and assigned to regions, IMPRESSION becomes the draft's impression, and
INDICATION / COMPARISON are kept on the imported draft for the study context.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inference.importers import parse
from inference.importers.base import (
    ImportedDraft,
    ImportFileError,
    ImportProblem,
    ImportResult,
    assemble,
    provenance,
)
from inference.importers.sections import canonical_header, findings_and_impression, split_sections
from inference.importers.tables import document_label, pick, read_documents

NAME = "text"
DEFAULT_KIND = "cxr"


def xml_sections(xml_text: str, source: str = "<xml>") -> dict[str, str]:
    """Sections of a report XML.

    Args:
        xml_text: The XML document.
        source: File name for error messages.

    Returns:
        ``{section: text}`` from ``Label`` attributes (Open-i) or element names.

    Raises:
        ImportFileError: malformed XML, or a DTD/entity declaration.
    """
    if "<!DOCTYPE" in xml_text or "<!ENTITY" in xml_text:
        raise ImportFileError(f"{source}: XML with a DTD or entity declarations is refused")
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ImportFileError(f"{source}: malformed XML ({exc})") from exc
    sections: dict[str, str] = {}
    for element in root.iter():
        name = canonical_header(element.get("Label") or element.tag)
        body = " ".join("".join(element.itertext()).split())
        if name and body and not len(element):
            sections[name] = f"{sections[name]} {body}" if name in sections else body
    return sections


def _sections_of(text: str, source: str) -> dict[str, str]:
    if text.lstrip().startswith("<"):
        return xml_sections(text, source)
    return split_sections(text)


def read(path: Path, *, kind: str = DEFAULT_KIND) -> ImportResult:
    """Read plain or sectioned reports into drafts.

    Args:
        path: File, folder or table (see module docstring).
        kind: Study kind when a row does not say (``cxr`` or ``ct``).
    """
    documents, problems = read_documents(path)
    drafts: list[ImportedDraft] = []
    errors = [ImportProblem(row, None, reason) for row, reason in problems]
    for row, key, text, record in documents:
        try:
            drafts.append(_one(path, row, key, text, record, kind))
        except (ImportFileError, ValueError) as exc:
            errors.append(ImportProblem(row, key, str(exc)))
    return ImportResult(NAME, str(path), tuple(drafts), tuple(sorted(errors, key=lambda p: p.row)))


def _one(path: Path, row: int, key: str, text: str, record: Mapping[str, Any], kind: str) -> ImportedDraft:
    source = str(record.get("file") or path.name)
    sections = _sections_of(text, source)
    row_kind = str(pick(record, ("kind",)) or kind).lower()
    body, impression = findings_and_impression(sections)
    if not body:
        raise ValueError(f"{source}: no FINDINGS or IMPRESSION text")
    prov = provenance(NAME, *document_label(path, row, record),
                      model_id=pick(record, ("model_id", "model")),
                      prompts=[str(pick(record, ("prompt", "query")) or "")])
    findings = parse.prose_findings(body, row_kind)
    reference = pick(record, ("reference", "ground_truth"))
    return ImportedDraft(
        match_key=key, draft=assemble(key, row_kind, findings, impression, prov),
        reference_text=reference if isinstance(reference, str) else None, row=row,
        indication=sections.get("indication"), comparison=sections.get("comparison"),
        source_file=source)

