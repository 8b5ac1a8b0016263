"""Export tab: run any export format with filters; the folder is zipped for download."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.services import ServiceError, Services

if TYPE_CHECKING:
    from storage.records import ReviewedCase, StudyRecord
    from storage.repository import Repository


@dataclass(frozen=True)
class ExportRequest:
    """What the reviewer chose in the export tab (empty strings mean "any")."""

    fmt: str
    reviewer: str = ""
    since: str = ""
    until: str = ""
    region: str = ""
    model: str = ""
    include_unsigned: bool = False
    copy_images: bool = False
    free_text: str = "deid"


def formats() -> tuple[str, ...]:
    """The export format names (DESIGN §6)."""
    from storage.exports import FORMATS

    return tuple(FORMATS)


def lookup(repo: Repository) -> Callable[[str], StudyRecord | None]:
    """A study lookup by case id for the exports (``None`` for an unknown case)."""
    from storage.repository import NotFoundError

    def find(case_id: str) -> StudyRecord | None:
        try:
            return repo.get_study(case_id)
        except NotFoundError:
            return None

    return find


def region_masks(data_dir: Path, load_artefact: Callable[[str], np.ndarray]) -> Callable[[Any], Any]:
    """The ``regions`` export's volume + region-mask source: the study's CT volume, the default segmenter's
    region masks, and the reviewer's corrected region masks in their place
    (:func:`storage.review.corrected_region_masks`)."""

    def masks_of(case: ReviewedCase) -> tuple[Any, dict[str, np.ndarray]]:
        from inference.artefacts import content_ref
        from inference.registry import default_segmenter, get_segmenter
        from storage.review import corrected_region_masks
        from viewer.errors import StudyLoadError
        from viewer.io import load_study

        try:
            image = load_study(Path(data_dir) / case.study.data_path, case_id=case.study.case_id).primary
        except StudyLoadError as exc:
            raise ValueError(str(exc)) from None
        found = get_segmenter(default_segmenter(case.study.kind)).segment(image).masks
        masks = {r: np.ascontiguousarray(np.asarray(m.mask, dtype=bool)) for r, m in found.items()}
        corrected = corrected_region_masks(case.state, {r: content_ref(m) for r, m in masks.items()})
        for region, ref in corrected.items():
            mask = np.asarray(load_artefact(ref), dtype=bool)
            if mask.shape == masks[region].shape:
                masks[region] = mask
        return image, masks

    return masks_of


def _day(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ServiceError(f"{what} {text!r} is not a date; use YYYY-MM-DD") from None


def run_export(
    services: Services,
    request: ExportRequest,
    download_dir: Path | None = None,
) -> tuple[Path, Path, str]:
    """Write the export under ``data_dir/exports`` and a zip of it for download.

    Returns:
        ``(export folder, zip path, one-line summary)``.

    Raises:
        ServiceError: unknown format, bad dates, or nothing the format can write.
    """
    from storage.exports import ExportFilter, UnknownFormatError, export
    from storage.exports.images import data_dir_resolver

    filters = ExportFilter(
        reviewer=request.reviewer.strip() or None,
        since=_day(request.since, "from"),
        until=_day(request.until, "until"),
        region=request.region.strip() or None,
        model=request.model.strip() or None,
        signed_only=not request.include_unsigned,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    out = services.data_dir / "exports" / f"{request.fmt}-{stamp}"
    try:
        result = export(
            request.fmt,
            services.repo.reviewed_cases(signed_only=not request.include_unsigned),
            out,
            filters=filters,
            copy_images=request.copy_images,
            image_resolver=data_dir_resolver(services.data_dir),
            artefact_loader=services.repo.load_artefact,
            free_text=request.free_text,
            study_lookup=lookup(services.repo),
            region_masks=region_masks(services.data_dir, services.repo.load_artefact),
        )
    except UnknownFormatError as exc:
        raise ServiceError(str(exc)) from None
    except (ValueError, FileNotFoundError) as exc:
        raise ServiceError(f"export {request.fmt} failed: {exc}") from None
    c = result.counts
    summary = (
        f"**{result.format}**: {c['records']} record(s) from {c['cases_exported']} of "
        f"{c['cases_matched']} matching case(s), {c['skipped']} skipped → `{result.out_dir}`"
    )
    target = Path(tempfile.mkdtemp(prefix="radreview-export-", dir=download_dir))
    archive = shutil.make_archive(str(target / out.name), "zip", root_dir=out)
    return out, Path(archive), summary
