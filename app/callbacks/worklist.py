"""Worklist: status filter, case-id search, "next unreviewed", per-reviewer progress, study upload."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import zipfile
from pathlib import Path

from app.services import ServiceError, Services
from storage.records import StudyRecord
from viewer.records import Study

STATUSES: tuple[str, ...] = ("all", "new", "drafted", "in_review", "signed")
COLUMNS: tuple[str, ...] = ("case", "kind", "status", "assigned to", "indication", "draft")
"""The last column is the drafting state: ``queued``, ``drafting… (attempt n)``, the newest draft's
provenance (``generator · model, quantization``) or ``failed: reason`` (:mod:`storage.drafting`)."""
UPLOAD_SUFFIXES: tuple[str, ...] = (".zip", ".nii", ".nii.gz", ".png", ".jpg", ".jpeg", ".dcm", "")
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def rows(services: Services, status: str = "all", search: str = "") -> list[list[str]]:
    """Worklist rows (see :data:`COLUMNS`) filtered by status and a case-id substring."""
    wanted = None if status in ("", "all") else status
    from storage.drafting import DraftQueue

    records = services.repo.list_studies(status=wanted, search=(search or "").strip() or None)
    drafting = DraftQueue(services.repo).case_status()
    return [
        [r.case_id, r.kind.upper(), r.status, r.assigned_to or "", (r.indication or "")[:80],
         drafting[r.case_id].text() if r.case_id in drafting else ""]
        for r in records
    ]


def next_unreviewed(services: Services, reviewer: str, after: str | None = None) -> str | None:
    """The next case not signed yet, preferring the reviewer's assignments, after ``after`` (wrapping)."""
    records = [r for r in services.repo.list_studies() if r.status != "signed"]
    mine = [r for r in records if r.assigned_to == reviewer]
    pool = [r for r in (mine or records) if r.assigned_to in (None, reviewer)] or mine or records
    ids: list[str] = [r.case_id for r in pool]
    if not ids:
        return None
    if after in ids:
        later = ids[ids.index(after) + 1 :] + ids[: ids.index(after)]
        return later[0] if later else None
    return ids[0]


def progress_text(services: Services, reviewer: str) -> str:
    """``reviewer (assigned): … · all cases: 5 new · 1 drafted · …`` from ``repo.progress``."""

    def line(counts: dict[str, int]) -> str:
        return " · ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())

    mine = services.repo.progress(reviewer)
    return f"**{reviewer}** (assigned): {line(mine)}  \n**all cases**: {line(services.repo.progress(None))}"


def _suffix(name: str) -> str:
    lower = name.lower()
    return ".nii.gz" if lower.endswith(".nii.gz") else Path(lower).suffix


def _case_id_for(name: str, digest: str, wanted: str) -> str:
    if wanted:
        if not _CASE_ID.match(wanted):
            raise ServiceError(f"case id {wanted!r} must be letters, digits, '.', '_' or '-' (≤ 64)")
        return wanted
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).name.split(".")[0]).strip("-")[:40] or "study"
    return f"{stem}-{digest[:8]}"


def _check_upload(services: Services, src: Path) -> str:
    size_mb = src.stat().st_size / 2**20
    if size_mb > services.max_upload_mb:
        raise ServiceError(
            f"{src.name} is {size_mb:.0f} MiB; the upload limit is {services.max_upload_mb} MiB"
        )
    suffix = _suffix(src.name)
    if suffix not in UPLOAD_SUFFIXES:
        raise ServiceError(
            f"{src.name}: unsupported file type {suffix!r}; upload a zip of a DICOM series, "
            "a DICOM file, NIfTI (.nii/.nii.gz), PNG or JPEG"
        )
    if suffix == ".zip" and not zipfile.is_zipfile(src):
        raise ServiceError(f"{src.name} is not a valid zip archive")
    return suffix


def _store_upload(services: Services, upload: str, case_id: str, stem: str = "study") -> Path:
    src = Path(upload)
    suffix = _check_upload(services, src)
    dest_dir = services.data_dir / "uploads" / case_id
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{stem}{suffix or '.dcm'}"
    shutil.copyfile(src, dest)
    return dest


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def upload(
    services: Services,
    reviewer: str,
    path: str | None,
    *,
    case_id: str = "",
    indication: str = "",
    prior_case: str = "",
    prior_report: str = "",
    lateral: str | None = None,
    series: str = "",
) -> str:
    """Store an uploaded study, check it loads, and register it in the worklist.

    Args:
        services: Injected services.
        reviewer: Who uploaded it (the case is assigned to them).
        path: Temporary path of the uploaded file.
        case_id: Wanted case id (default: file stem + hash prefix).
        indication: Clinical indication.
        prior_case: Case id of a prior study already in the worklist.
        prior_report: Text of the prior report.
        lateral: Temporary path of a lateral radiograph (CXR).
        series: SeriesInstanceUID to keep when the zip holds several series (only its files are stored).

    Returns:
        The new case id.

    Raises:
        ServiceError: too large, unsupported, unreadable (the reader's reason), duplicate id, bad prior.
    """
    from viewer.errors import MissingExtraError, SeveralSeriesError, StudyLoadError
    from viewer.io import load_study

    if not path:
        raise ServiceError("choose a file to upload first")
    cid = _case_id_for(Path(path).name, _digest(path), case_id.strip())
    if any(r.case_id == cid for r in services.repo.list_studies(search=cid)):  # before copying anything
        raise ServiceError(f"case {cid!r} is already in the worklist")
    if prior_case:
        services.record(prior_case.strip())
    stored = _store_upload(services, path, cid)
    try:
        if series.strip():
            from storage.ingest import keep_series

            stored = keep_series(stored, series.strip())
        study = load_study(stored, case_id=cid)
        if lateral:
            side = _store_upload(services, lateral, cid, stem="lateral")
            load_study(side, case_id=f"{cid}-lateral")
    except SeveralSeriesError as exc:
        shutil.rmtree(stored.parent, ignore_errors=True)
        raise ServiceError(f"{Path(path).name} holds {exc.count} series: {exc.listing}; enter the one to "
                           "read under 'series UID' and upload it again") from None
    except (StudyLoadError, MissingExtraError) as exc:
        shutil.rmtree(stored.parent, ignore_errors=True)
        why = exc.reason if isinstance(exc, StudyLoadError) else str(exc)  # not the server's upload path
        raise ServiceError(f"{Path(path).name}: {why}") from None
    study = dataclasses.replace(
        study, indication=indication.strip() or None, prior_report=prior_report.strip() or None
    )
    register(services, study, stored, prior_case.strip() or None)
    services.repo.assign(cid, reviewer)
    return cid


def register(services: Services, study: Study, path: Path,
             prior_case_id: str | None = None) -> StudyRecord:
    """Register a loaded study stored at ``path`` (inside the data directory) in the worklist."""
    try:
        relative = Path(path).resolve().relative_to(services.data_dir.resolve())
    except ValueError:
        raise ServiceError(f"{path} is outside the data directory {services.data_dir}") from None
    try:
        record = services.repo.register_study(study, relative.as_posix(), prior_case_id=prior_case_id)
    except (ValueError, LookupError) as exc:
        raise ServiceError(str(exc)) from None
    from viewer.io.pixel_cache import cache_for, store

    store(cache_for(services.data_dir), path, study)  # decoded once: the first open is memory-mapped
    return record
