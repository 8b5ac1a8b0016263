"""Shared by the DICOM SR and SEG exports: highdicom import, de-identified source datasets, UIDs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from storage.exports.common import ExportContext, SkipCase
from storage.exports.images import sniff_kind
from storage.records import ReviewedCase


def require_highdicom(what: str) -> Any:
    """Import highdicom or raise ``MissingExtraError("dicom", what)`` (CLI exit 4)."""
    try:
        import highdicom
    except ImportError:
        from viewer.errors import MissingExtraError

        raise MissingExtraError("dicom", what) from None
    return highdicom


def derived_uid(*parts: str) -> str:
    """A deterministic ``2.25.`` UID from the given strings (same export inputs → same UIDs)."""
    return f"2.25.{int(hashlib.sha256('|'.join(parts).encode()).hexdigest()[:30], 16)}"


def source_datasets(case: ReviewedCase, ctx: ExportContext) -> list[Any]:
    """The case's source DICOM headers (no pixel data), de-identified (PS3.15 basic profile, UIDs kept).

    Raises:
        SkipCase: no data directory, no files, or sources that are not DICOM (PNG/NIfTI).
    """
    import pydicom

    from storage.deid import scrub_dataset

    if ctx.source_files is None:
        raise SkipCase("source files are not available (no data directory given)")
    files = [Path(f) for f in ctx.source_files(case.study)]
    if not files:
        raise SkipCase(f"no source files found at {case.study.data_path!r}")
    kinds = sorted({sniff_kind(f) for f in files} - {"dicom"})
    if kinds:
        raise SkipCase(f"DICOM SR/SEG need DICOM sources; this study's images are {', '.join(kinds)}")
    return [scrub_dataset(pydicom.dcmread(f, stop_before_pixels=True), case.study.case_id)
            for f in files]


def series_number(case: ReviewedCase) -> int:
    """A stable series number for derived objects (900–998) from the case id."""
    return 900 + int(hashlib.sha256(case.study.case_id.encode()).hexdigest()[:4], 16) % 99
