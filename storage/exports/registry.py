"""``export(fmt, cases, out_dir, …)``: filter reviewed cases, write one format, write the manifest."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.deid import FREE_TEXT_POLICIES
from storage.exports.common import (
    SCHEMA_VERSION,
    ArtefactLoader,
    ExportContext,
    FormatOutput,
    RegionMasks,
    SourceResolver,
    StudyLookup,
    provenance,
    study_key,
)
from storage.exports.filters import ExportFilter
from storage.exports.images import plan_images, render_roles
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
        counts: ``cases_seen``, ``cases_matched``, ``cases_superseded`` (another review of the same
            study won), ``cases_exported``, ``records``, ``skipped``.
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


class NonEmptyFolderError(ValueError):
    """The export folder already holds files: an export never mixes with the files of an older one."""


def _notes(copy_images: bool, free_text: str) -> list[str]:
    notes = ["Patient-identifying DICOM attributes are removed (PS3.15 basic profile, Retain UIDs Option); "
             "case ids are pseudonyms.",
             "Training targets hold what the reviewer decided: rejected and still-pending findings and an "
             "undecided impression are left out; records of unsigned reviews say \"signed\": false.",
             "Free text (indication, prior report): " + (
                 "left out (free-text policy 'drop')." if free_text == "drop" else
                 "identifying spans (names, ID numbers, dates, phone numbers, e-mail) replaced by "
                 "[NAME]/[ID]/[DATE]/[PHONE]/[EMAIL] (policy 'deid'; see docs/exports.md for its limits).")]
    if not copy_images:
        notes.append("Source files were not copied (re-run with image copying to add de-identified copies).")
    return notes


def _check_fresh(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise NonEmptyFolderError(f"export folder {out} is a file; give a new folder")
    if out.is_dir():
        entries = sorted(p.name for p in out.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (" …" if len(entries) > 3 else "")
            raise NonEmptyFolderError(
                f"export folder {out} is not empty ({len(entries)} entries: {shown}); give a new or empty "
                "folder — an export never mixes with the files of an older one")


def _newest_first_key(case: ReviewedCase) -> tuple[int, str]:
    state = case.state
    if state.signed_at is not None:
        return 1, state.signed_at.isoformat()
    times = [a.acted_at.isoformat() for a in state.actions if a.acted_at is not None]
    return 0, max(times) if times else ""


def one_per_study(cases: list[ReviewedCase]) -> tuple[list[ReviewedCase], list[dict[str, str]]]:
    """One case per study (:func:`storage.exports.common.study_key`): the newest signed review wins
    (an unsigned one only where the study has no signed review).

    Returns:
        The kept cases in input order, and ``{"case_id", "kept", "study_key"}`` per superseded case.
    """
    best: dict[str, ReviewedCase] = {}
    for case in cases:
        key = study_key(case)
        if key not in best or _newest_first_key(case) > _newest_first_key(best[key]):
            best[key] = case
    kept_ids = {c.study.case_id for c in best.values()}
    kept = [c for c in cases if c.study.case_id in kept_ids]
    superseded = [{"case_id": c.study.case_id, "kept": best[study_key(c)].study.case_id,
                   "study_key": study_key(c)} for c in cases if c.study.case_id not in kept_ids]
    return kept, superseded


def _renders(module: Any, cases: list[ReviewedCase], out: Path, resolver: SourceResolver | None,
             lookup: StudyLookup | None) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    renders: dict[str, dict[str, Any]] = {}
    failed: list[tuple[str, str]] = []
    if not getattr(module, "NEEDS_PNG", False):
        return renders, failed
    for case in cases:
        if case.study.kind != "cxr":
            continue
        prior = lookup(case.study.prior_case_id) if lookup and case.study.prior_case_id else None
        try:
            renders[case.study.case_id] = render_roles(case.study, out, resolver, prior)
        except (ValueError, OSError) as exc:
            failed.append((case.study.case_id, f"image not rendered: {exc}"))
    return renders, failed


def export(fmt: str, cases: Iterable[ReviewedCase], out_dir: Path | str, *,
           filters: ExportFilter | None = None, copy_images: bool = False,
           image_resolver: SourceResolver | None = None, artefact_loader: ArtefactLoader | None = None,
           created_at: datetime | None = None, free_text: str = "deid",
           study_lookup: StudyLookup | None = None, region_masks: RegionMasks | None = None) -> ExportResult:
    """Write one export format for the cases that pass ``filters``, plus ``manifest.json``.

    Args:
        fmt: One of :data:`FORMATS`.
        cases: Reviewed cases (e.g. ``Repository.reviewed_cases()``).
        out_dir: Export folder: created, or an existing empty folder (a non-empty one is refused).
        filters: Case selection; default: signed cases only.
        copy_images: Also copy the de-identified source files into ``out_dir/images``.
        image_resolver: Source files of a study (needed to render PNGs, copy sources, and for DICOM SR/SEG).
        artefact_loader: Stored mask/heat-map loader by content reference (DICOM SEG).
        created_at: Timestamp for the manifest and DICOM outputs (default: now, UTC).
        free_text: ``deid`` (scrub identifying spans from indication/prior report) or ``drop``.
        study_lookup: Finds a study by case id (the prior study's images for MAIRA-2).
        region_masks: Volume and region masks of a CT case (the ``regions`` format).

    Returns:
        The :class:`ExportResult`.

    Raises:
        UnknownFormatError: ``fmt`` is unknown (with a did-you-mean hint).
        NonEmptyFolderError: ``out_dir`` holds files already.
        ValueError: unknown free-text policy.
    """
    module = _module(fmt)
    if free_text not in FREE_TEXT_POLICIES:
        raise ValueError(f"unknown free-text policy {free_text!r}; "
                         f"expected one of {', '.join(FREE_TEXT_POLICIES)}")
    filters = filters or ExportFilter()
    created_at = created_at or datetime.now(UTC)
    out = Path(out_dir)
    _check_fresh(out)
    out.mkdir(parents=True, exist_ok=True)
    seen = 0
    matched: list[ReviewedCase] = []
    for case in cases:
        seen += 1
        if filters.matches(case):
            matched.append(case)
    matched, superseded = one_per_study(matched)
    images: dict[str, tuple[str, ...]] = {}
    image_entries: list[dict[str, Any]] = []
    for case in matched:
        refs, entries = plan_images(case.study, out, copy=copy_images, resolver=image_resolver)
        images[case.study.case_id] = refs
        image_entries.extend(entries)
    renders, failed = _renders(module, matched, out, image_resolver, study_lookup)
    failed_ids = {c for c, _ in failed}
    ctx = ExportContext(out_dir=out, images=images, source_files=image_resolver,
                        artefact_loader=artefact_loader, created_at=created_at, region=filters.region,
                        renders=renders, free_text=free_text, region_masks=region_masks)
    result: FormatOutput = module.write([c for c in matched if c.study.case_id not in failed_ids], ctx)
    skipped = [*failed, *result.skipped]
    exported = [c for c in matched if c.study.case_id not in {s for s, _ in skipped}]
    counts = {"cases_seen": seen, "cases_matched": len(matched) + len(superseded),
              "cases_superseded": len(superseded), "cases_exported": len(exported),
              "records": result.records, "skipped": len(skipped)}
    manifest = build_manifest(fmt=fmt, created_at=created_at, filters=filters.as_dict(), counts=counts,
                              skipped=skipped, files=[file_entry(p, out) for p in result.files],
                              images=image_entries, notes=_notes(copy_images, free_text))
    manifest.update(schema_version=SCHEMA_VERSION, free_text=free_text, superseded=superseded,
                    provenance=[provenance(c) for c in exported])
    path = write_manifest(out, manifest)
    return ExportResult(format=fmt, out_dir=out, files=tuple(result.files), manifest_path=path,
                        counts=counts, skipped=tuple(skipped))
