"""Shared by the DICOM SR and SEG exports: highdicom import, de-identified source datasets, UIDs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.exports.common import ExportContext, FormatOutput, SkipCase, built_cases
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
    return [fill_type2(scrub_dataset(pydicom.dcmread(f, stop_before_pixels=True), case.study.case_id))
            for f in files]


TYPE2_PATIENT_STUDY: tuple[str, ...] = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber", "SeriesNumber", "InstanceNumber",
)
"""Type 2 attributes of the Patient, General Study, General Series and General Image modules that
derived SR/SEG objects copy from their sources (PS3.3 C.7.1.1, C.7.2.1, C.7.3.1, C.7.6.1)."""


def fill_type2(ds: Any) -> Any:
    """Give a source dataset the Type 2 attributes it lacks, empty, as PS3.5 7.4.5 allows ("present,
    zero length" when unknown), and ``PatientOrientation`` (Type 2C, required for projection images
    without a frame of reference) empty on 2D images. Changes and returns ``ds``."""
    for keyword in TYPE2_PATIENT_STUDY:
        if keyword not in ds:
            setattr(ds, keyword, None)
    if "ImageOrientationPatient" not in ds and "PatientOrientation" not in ds:
        ds.PatientOrientation = None
    return ds


UTF8 = "ISO_IR 192"
"""SpecificCharacterSet of every derived object: UTF-8, so "−850 HU" (U+2212) and accents survive."""


def utf8(ds: Any) -> Any:
    """Declare UTF-8 (:data:`UTF8`) on a dataset about to be written. Changes and returns ``ds``."""
    ds.SpecificCharacterSet = UTF8
    return ds


def series_number(case: ReviewedCase) -> int:
    """A stable series number for derived objects (900–998) from the case id."""
    return 900 + int(hashlib.sha256(case.study.case_id.encode()).hexdigest()[:4], 16) % 99


def derived_identity(case: ReviewedCase, ctx: ExportContext, kind: str, description: str,
                     series_offset: int = 0) -> dict[str, Any]:
    """The identity keywords of one derived object (highdicom constructor arguments).

    Deterministic series and instance UIDs from the case, ``kind`` and the export time (same export
    inputs → same UIDs), the case's stable :func:`series_number` (+ ``series_offset`` so that a case's
    SR and SEG sit in different series), instance 1, manufacturer ``radreview`` and UTF-8.
    """
    when = (ctx.created_at or datetime.now(UTC)).isoformat()
    cid = case.study.case_id
    return {"series_instance_uid": derived_uid(cid, f"{kind}-series", when),
            "series_number": series_number(case) + series_offset,
            "sop_instance_uid": derived_uid(cid, kind, when), "instance_number": 1,
            "manufacturer": "radreview", "series_description": description, "specific_character_set": UTF8}


def write_per_case(cases: Sequence[ReviewedCase], ctx: ExportContext, folder_name: str, what: str,
                   build: Callable[[ReviewedCase, ExportContext], Any]) -> FormatOutput:
    """Write one DICOM object per case as ``<folder_name>/<case_id>.dcm``.

    Args:
        cases: The cases to export.
        ctx: The export context (output folder, resolvers).
        folder_name: Sub-folder of the export, e.g. ``sr``.
        what: What is written, for the missing-highdicom message (e.g. ``DICOM SR export``).
        build: Makes the highdicom dataset of one case, or raises :class:`SkipCase` with the reason.

    Returns:
        The files written, the record count and the skipped cases with their reasons.
    """
    require_highdicom(what)
    out = FormatOutput()
    folder = ctx.out_dir / folder_name
    for case, dataset in built_cases(cases, ctx, build, out):
        folder.mkdir(exist_ok=True)
        path = folder / f"{case.study.case_id}.dcm"
        utf8(dataset).save_as(path, enforce_file_format=True)
        out.files.append(path)
        out.records += 1
    return out
