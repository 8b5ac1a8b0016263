"""``manifest.json``: what an export holds and how it was made (counts, filters, skips, version)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from viewer.version import package_version

MANIFEST = "manifest.json"


def radreview_version() -> str:
    """The installed radreview version (:func:`viewer.version.package_version`)."""
    return package_version()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path, out_dir: Path) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of an output file (path relative to the export folder)."""
    return {"path": path.relative_to(out_dir).as_posix(), "sha256": file_sha256(path),
            "bytes": path.stat().st_size}


def build_manifest(*, fmt: str, created_at: datetime, filters: Mapping[str, Any], counts: Mapping[str, int],
                   skipped: Sequence[tuple[str, str]], files: Sequence[Mapping[str, Any]],
                   images: Sequence[Mapping[str, Any]], notes: Sequence[str]) -> dict[str, Any]:
    """The manifest as a plain dict (see docs/exports.md for the fields)."""
    return {
        "format": fmt,
        "radreview_version": radreview_version(),
        "created_at": created_at.isoformat(),
        "filters": dict(filters),
        "counts": dict(counts),
        "skipped": [{"case_id": case_id, "reason": reason} for case_id, reason in skipped],
        "files": list(files),
        "images": list(images),
        "notes": list(notes),
    }


def write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` (indented, UTF-8) and return its path."""
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
