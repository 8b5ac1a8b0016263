"""Row readers shared by the importers: JSON Lines, JSON arrays and CSV, each row numbered.

Row numbers are what a user needs to find a record in the source file: the 1-based line number for
JSON Lines, the 1-based position in the array for JSON, and the 1-based data row (header excluded)
for CSV.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from inference.importers.base import ImportFileError, ImportProblem

Row = tuple[int, Mapping[str, Any]]


def read_rows(path: Path) -> list[Row]:
    """Read every record of a ``.jsonl``, ``.json`` or ``.csv`` file.

    Args:
        path: The file; its suffix picks the reader (``.jsonl``/``.ndjson``, ``.json``, ``.csv``).

    Returns:
        ``(row, record)`` pairs in file order.

    Raises:
        ImportFileError: unreadable file, bad JSON (naming the line), or an unknown suffix.
    """
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return list(_jsonl_rows(path))
    if suffix == ".json":
        return _json_rows(path)
    if suffix == ".csv":
        return _csv_rows(path)
    raise ImportFileError(f"{path}: cannot tell the layout from suffix {suffix!r}; "
                          "expected .jsonl, .json or .csv")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{path}: cannot read as UTF-8 text ({exc})") from exc


def _jsonl_rows(path: Path) -> Iterator[Row]:
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        except RecursionError as exc:
            raise ImportFileError(f"{path}:{number}: JSON nested too deeply") from exc
        if not isinstance(record, dict):
            raise ImportFileError(f"{path}:{number}: each line must be a JSON object, got "
                                  f"{type(record).__name__}")
        yield number, record


def _json_rows(path: Path) -> list[Row]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError as exc:
        raise ImportFileError(f"{path}: JSON nested too deeply") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ImportFileError(f"{path}: expected a JSON object or an array of objects")
    return list(enumerate(data, start=1))


def _csv_rows(path: Path) -> list[Row]:
    reader = csv.DictReader(_read_text(path).splitlines(keepends=True))
    if not reader.fieldnames:
        raise ImportFileError(f"{path}: the CSV file has no header row")
    try:
        return [(i, row) for i, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise ImportFileError(f"{path}: malformed CSV ({exc})") from exc


def pick(record: Mapping[str, Any], names: Sequence[str]) -> Any:
    """The value of the first of ``names`` present (and not null/empty) in ``record``, else ``None``."""
    for name in names:
        value = record.get(name)
        if value is not None and value != "":
            return value
    return None


def require_columns(path: Path, rows: Sequence[Row], groups: Mapping[str, Sequence[str]]) -> None:
    """Fail early when a file lacks a needed column altogether.

    Args:
        path: The file (for the message).
        rows: Its rows.
        groups: For each needed field, the column names accepted for it.

    Raises:
        ImportFileError: naming the field, the accepted names and the columns found.
    """
    if not rows:
        return
    found = set().union(*(set(r) for _, r in rows))
    for field_name, names in groups.items():
        if not found.intersection(names):
            raise ImportFileError(
                f"{path}: no {field_name} column; expected one of {', '.join(names)} "
                f"(found: {', '.join(sorted(found)) or 'none'})")



def keyed_texts(path: Path, key: tuple[str, Sequence[str]], text: tuple[str, Sequence[str]],
                missing: tuple[str, str], errors: list[ImportProblem],
                ) -> list[tuple[int, Mapping[str, Any], str, str]]:
    """The rows of ``path`` that carry a key and a text, as ``(row, record, key, text)``.

    Args:
        path: The prediction file (read with :func:`read_rows`).
        key: The key field's name (for :func:`require_columns`) and the column names accepted for it.
        text: Likewise for the text field (a row whose text is not a string is reported).
        missing: The problem reported for a row without a key, and for one without a text.
        errors: Gets one :class:`ImportProblem` per row left out, in row order.

    Raises:
        ImportFileError: the file lacks the key or the text column altogether.
    """
    rows = read_rows(path)
    require_columns(path, rows, {key[0]: key[1], text[0]: text[1]})
    out = []
    for row, record in rows:
        k, value = pick(record, key[1]), pick(record, text[1])
        if k is None or not isinstance(value, str):
            errors.append(ImportProblem(row, None if k is None else str(k),
                                        missing[0] if k is None else missing[1]))
            continue
        out.append((row, record, str(k), value))
    return out

Document = tuple[int, str, str, Mapping[str, Any]]
TEXT_SUFFIXES = (".txt", ".xml")
ID_FIELDS = ("id", "study_id", "case_id", "accession", "AccNum", "file", "filename")
REPORT_FIELDS = ("report", "text", "prediction", "output")


def read_documents(path: Path, text_fields: Sequence[str] = REPORT_FIELDS,
                   id_fields: Sequence[str] = ID_FIELDS) -> tuple[list[Document], list[tuple[int, str]]]:
    """One report per row, from a table, a single text/XML file, or a folder of them.

    Args:
        path: A ``.jsonl``/``.json``/``.csv`` table (one report per row), a ``.txt``/``.xml`` file
            (one report, keyed by its file stem) or a folder of ``.txt``/``.xml`` files (row =
            position in name order).
        text_fields: Columns that may hold the report text in a table.
        id_fields: Columns that may hold the row's id in a table.

    Returns:
        ``(documents, problems)``: ``(row, key, raw text, record)`` for each usable report and
        ``(row, reason)`` for each table row without id or text.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in TEXT_SUFFIXES and p.is_file())
        if not files:
            raise ImportFileError(f"{path}: the folder has no {' or '.join(TEXT_SUFFIXES)} report files")
        return [(i, f.stem, _read_text(f), {"file": f.name}) for i, f in enumerate(files, start=1)], []
    if path.suffix.lower() in TEXT_SUFFIXES:
        return [(1, path.stem, _read_text(path), {"file": path.name})], []
    docs: list[Document] = []
    problems: list[tuple[int, str]] = []
    rows = read_rows(path)
    require_columns(path, rows, {"id": id_fields, "report text": text_fields})
    for row, record in rows:
        key, text = pick(record, id_fields), pick(record, text_fields)
        if key is None or not isinstance(text, str):
            problems.append((row, "no id" if key is None else "no report text"))
        else:
            docs.append((row, str(key), text, record))
    return docs, problems


def document_label(path: Path, row: int, record: Mapping[str, Any]) -> tuple[Path, int]:
    """The file and row a provenance label names: the report file itself when ``path`` is a folder."""
    return (path / str(record["file"]), 1) if path.is_dir() else (path, row)
