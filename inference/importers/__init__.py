"""Import drafts produced elsewhere: one module per source format, each a pure file → drafts reader.

>>> format_names()
('llava-rad', 'maira2', 'reg2rg', 'text', 'vividmed')

``read_drafts(path, fmt)`` returns an :class:`ImportResult` — drafts keyed by the file's own ids plus
the rows that could not be read; :func:`inference.importers.matching.match_to_studies` then ties
them to studies and reports the unmatched ones. Imported drafts go through the same sentence →
region assignment and grounding parsers as generated ones.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from inference.importers.base import (
    UNKNOWN_MODEL,
    ImportedDraft,
    ImportFileError,
    ImportProblem,
    ImportResult,
)
from viewer.names import unknown_name

__all__ = ["FORMATS", "UNKNOWN_MODEL", "ImportFileError", "ImportProblem", "ImportResult", "ImportedDraft",
           "format_names", "read_drafts"]

# format name -> module exposing read(path, *, kind) and DEFAULT_KIND
FORMATS: dict[str, str] = {
    "llava-rad": "inference.importers.llava_rad",
    "maira2": "inference.importers.maira2",
    "reg2rg": "inference.importers.reg2rg",
    "text": "inference.importers.text",
    "vividmed": "inference.importers.vividmed",
}


def format_names() -> tuple[str, ...]:
    """The importable formats, sorted."""
    return tuple(sorted(FORMATS))


def _unknown(fmt: str) -> str:
    return unknown_name("drafts format", fmt, format_names())


def read_drafts(path: str | Path, fmt: str, *, kind: str | None = None) -> ImportResult:
    """Read a file of drafts written by another system.

    Args:
        path: The drafts file (or, for ``text``/``vividmed``, a folder of report files).
        fmt: One of :func:`format_names`.
        kind: ``cxr`` or ``ct`` for the rows; the format's own default when ``None``
            (``ct`` for ``reg2rg``, ``cxr`` otherwise).

    Returns:
        The drafts and the rows that could not be imported (never dropped silently).

    Raises:
        ValueError: unknown format (with "did you mean"), or a kind the format cannot hold.
        ImportFileError: the file is missing or unreadable as a whole (CLI exit 3).
    """
    if fmt not in FORMATS:
        raise ValueError(_unknown(fmt))
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"{path}: no such file or folder")
    module = importlib.import_module(FORMATS[fmt])
    result: ImportResult = module.read(path, kind=kind or module.DEFAULT_KIND)
    return result
