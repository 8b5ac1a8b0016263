"""``export(fmt, cases, out_dir, …)``: filter reviewed cases, write one format, write the manifest."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.exports.common import ArtefactLoader, ExportContext, FormatOutput, SourceResolver
from storage.exports.filters import ExportFilter
from storage.exports.images import plan_images
from storage.exports.manifest import build_manifest, file_entry, write_manifest
from storage.records import ReviewedCase

FORMATS: dict[str, str] = {
    "llava": "llava", "sft": "sft", "dpo": "dpo", "radfact": "radfact", "maira2": "maira2",
    "regions": "regions", "dicom-sr": "dicom_sr", "dicom-seg": "dicom_seg",
}
"""Export format name → module under ``storage.exports``."""


class UnknownFormatError(ValueError):
    """The format name is not one of :data:`FORMATS`."""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote.

    Attributes:
        format: The format name.
        out_dir: The export folder.
        files: Data files written (paths), without the manifest and image copies.
        manifest_path: ``out_dir/manifest.json``.
        counts: ``cases_seen``, ``cases_matched``, ``cases_exported``, ``records``, ``skipped``.
        skipped: ``(case_id, reason)`` for each matched case the format could not represent.
    """

    format: str
    out_dir: Path
    files: tuple[Path, ...]
    manifest_path: Path
    counts: dict[str, int]
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _module(fmt: str) -> Any:
    if fmt not in FORMATS:
        from viewer.names import unknown_name

        raise UnknownFormatError(unknown_name("export format", fmt, FORMATS))
    return importlib.import_module(f"storage.exports.{FORMATS[fmt]}")


def _notes(copy_images: bool) -> list[str]:
    notes = ["Patient-identifying DICOM attributes are removed (PS3.15 basic profile, Retain UIDs Option); "
             "case ids are pseudonyms."]
    if not copy_images:
        notes.append("Images were not copied: records refer to images/<case_id>/<sha256>; "
                     "re-run with image copying to include de-identified copies.")
    return notes


def export(fmt: str, cases: Iterable[ReviewedCase], out_dir: Path | str, *,
           filters: ExportFilter | None = None, copy_images: bool = False,
           image_resolver: SourceResolver | None = None, artefact_loader: ArtefactLoader | None = None,
           created_at: datetime | None = None) -> ExportResult:
    """Write one export format for the cases that pass ``filters``, plus ``manifest.json``.

    Args:
        fmt: One of :data:`FORMATS`.
        cases: Reviewed cases (e.g. ``Repository.reviewed_cases()``).
        out_dir: Export folder (created; existing files of the same names are replaced).
        filters: Case selection; default: signed cases only.
        copy_images: Copy de-identified source images into ``out_dir/images``.
        image_resolver: Source files of a study (needed for copying and for DICOM SR/SEG).
        artefact_loader: Stored mask/heat-map loader by content reference (DICOM SEG).
        created_at: Timestamp for the manifest and DICOM outputs (default: now, UTC).

    Returns:
        The :class:`ExportResult`.

    Raises:
        UnknownFormatError: ``fmt`` is unknown (with a did-you-mean hint).
    """
    module = _module(fmt)
    filters = filters or ExportFilter()
    created_at = created_at or datetime.now(UTC)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seen = 0
    matched: list[ReviewedCase] = []
    for case in cases:
        seen += 1
        if filters.matches(case):
            matched.append(case)
    images: dict[str, tuple[str, ...]] = {}
    image_entries: list[dict[str, Any]] = []
    for case in matched:
        refs, entries = plan_images(case.study, out, copy=copy_images, resolver=image_resolver)
        images[case.study.case_id] = refs
        image_entries.extend(entries)
    ctx = ExportContext(out_dir=out, images=images, source_files=image_resolver,
                        artefact_loader=artefact_loader, created_at=created_at, region=filters.region)
    result: FormatOutput = module.write(matched, ctx)
    counts = {"cases_seen": seen, "cases_matched": len(matched),
              "cases_exported": len(matched) - len({c for c, _ in result.skipped}),
              "records": result.records, "skipped": len(result.skipped)}
    manifest = build_manifest(fmt=fmt, created_at=created_at, filters=filters.as_dict(), counts=counts,
                              skipped=result.skipped, files=[file_entry(p, out) for p in result.files],
                              images=image_entries, notes=_notes(copy_images))
    path = write_manifest(out, manifest)
    return ExportResult(format=fmt, out_dir=out, files=tuple(result.files), manifest_path=path,
                        counts=counts, skipped=tuple(result.skipped))
