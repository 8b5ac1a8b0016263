"""``load_study``: a file, a folder or a zip → one :class:`Study`.

Rules:

* A file is read by the first reader whose content sniff accepts it (``viewer.io.registry``).
* A folder or zip: DICOM files with pixel data are grouped by SeriesInstanceUID. Projection radiographs
  (CR/DX/…, single frame) form a CXR study of one frontal and at most one lateral (a lone radiograph of
  any view is read as when the file itself is passed). CT/MR/PT/NM slices form
  one volume (several series → pick with ``series=``). Without DICOM, exactly one NIfTI/PNG/JPEG is read.
* ``kind`` is ``ct`` for every 3D volume (CT, and MR/PT/NIfTI volumes too: the review workspace treats
  them alike) and for a single CT/MR slice (a one-slice volume); ``cxr`` for every 2D image.
* ``case_id`` defaults to ``case-`` + the first 12 hex digits of the primary image's sha256: stable,
  pseudonymous, never derived from PatientID.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from viewer.errors import StudyLoadError
from viewer.io import sniff
from viewer.io.archive import MAX_MEMBERS, zip_sources
from viewer.io.registry import read_one, reader_for
from viewer.io.source import Source
from viewer.records import Image, Study, StudyKind


def _folder_sources(folder: Path) -> list[Source]:
    found: list[Source] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            if path.is_file():
                found.append(Source.from_path(path))
            if len(found) > MAX_MEMBERS:
                raise StudyLoadError(folder, f"more than {MAX_MEMBERS} files; pass one series folder")
    return found


def _study(images: list[Image], case_id: str | None) -> Study:
    kind: StudyKind = "ct" if images[0].is_volume else "cxr"
    return Study(case_id=case_id or f"case-{images[0].sha256[:12]}", kind=kind, images=tuple(images))


def _radiographs(where: str, images: list[Image]) -> list[Image]:
    if len(images) == 1:  # a lone radiograph of any view, as when the file itself is passed
        return images
    laterals = [im for im in images if im.view == "LATERAL"]
    frontals = [im for im in images if im.view != "LATERAL"]
    if len(frontals) > 1 or len(laterals) > 1 or not frontals:
        listing = ", ".join(f"{Path(im.source).name} ({im.view or 'view unknown'})" for im in images)
        raise StudyLoadError(
            where,
            f"{len(images)} radiographs found ({listing}); a CXR study takes one "
            "frontal and at most one lateral — pass a folder with just those",
        )
    return frontals + laterals


def _without_localizers(image: Image, slices: list[Any], chosen: list[Any]) -> Image:
    """The volume, saying so when localizers of its series were left out of it."""
    series = chosen[0].series_uid
    left = sum(1 for s in slices if s.localizer and s.series_uid == series)
    if not left:
        return image
    note = f"{left} localizer (scout) image(s) of the series left out of the volume"
    return dataclasses.replace(image, warnings=(*image.warnings, note))


def _dicom_study(where: str, sources: list[Source], datas: list[bytes], series: str | None) -> list[Image]:
    from viewer.io import dicom_image, dicom_series

    slices = [s for s in dicom_series.read_slices(sources, datas) if s.has_pixels]
    if not slices:
        raise StudyLoadError(
            where,
            f"{len(sources)} DICOM file(s) but none holds pixel data (reports, "
            "structure sets or DICOMDIR only); pass the image series",
        )
    dicom_series.refuse_localizers(where, slices)
    volume = [s for s in slices if dicom_series.is_volume_slice(s)]
    if volume:
        chosen = dicom_series.select_series(where, volume, series)
        return [_without_localizers(dicom_series.volume_from_slices(where, chosen), slices, chosen)]
    flat = [s for s in slices if not s.localizer and (series is None or s.series_uid == series)]
    if not flat:
        raise StudyLoadError(where, f"series {series} not found among the radiographs")
    return _radiographs(
        where, [dicom_image.read_image(s.source, data=s.content(), has_pixels=True) for s in flat]
    )


def _many(where: str, sources: list[Source], series: str | None) -> list[Image]:
    from viewer.io.dicom_series import read_heads

    dicom, dicom_data, other = [], [], []
    for source, data in zip(sources, read_heads(sources), strict=True):
        head = data[: sniff.HEAD_BYTES]
        if head and sniff.is_dicom(head):
            dicom.append(source)
            dicom_data.append(data)
        elif head and reader_for(source, head) is not None:
            other.append(source)
    if dicom:
        return _dicom_study(where, dicom, dicom_data, series)
    if len(other) == 1:
        return [read_one(other[0])]
    if other:
        names = ", ".join(Path(s.name).name for s in other[:5])
        raise StudyLoadError(where, f"{len(other)} separate image files ({names}…); pass one file")
    raise StudyLoadError(
        where, f"no readable study: none of {len(sources)} file(s) is DICOM, NIfTI, PNG or JPEG"
    )


def load_study(
    path: str | os.PathLike[str], *, series: str | None = None, case_id: str | None = None
) -> Study:
    """Load one study from a file, a folder (e.g. a DICOM series) or a zip archive.

    Args:
        path: File, folder or ``.zip``.
        series: SeriesInstanceUID to pick when the folder holds several series.
        case_id: Pseudonymous id to use; default derived from the content hash.

    Returns:
        The study: ``kind`` ``ct`` with one SPL volume, or ``cxr`` with a frontal (and optional lateral).

    Raises:
        StudyLoadError: Unreadable, unsafe or unsupported input (message names the file and the reason).
        MissingExtraError: Compressed pixel data needs the ``codecs`` extra.
    """
    p = Path(path)
    if not p.exists():
        raise StudyLoadError(p, "no such file or folder")
    if p.is_dir():
        sources = _folder_sources(p)
        if not sources:
            raise StudyLoadError(p, "empty folder: no study files in it")
        return _study(_many(str(p), sources, series), case_id)
    source = Source.from_path(p)
    if source.size == 0:
        raise StudyLoadError(p, "empty file (0 bytes)")
    if sniff.is_zip(source.head()):
        members = zip_sources(p)
        if not members:
            raise StudyLoadError(p, "empty zip archive")
        return _study(_many(str(p), members, series), case_id)
    return _study([read_one(source)], case_id)


def series_sources(path: str | os.PathLike[str], series: str) -> list[Source]:
    """The files (or zip members) that hold the DICOM series ``series`` of a folder or zip: what to keep
    of an export with several series once one is picked (headers only are read).

    Raises:
        StudyLoadError: ``path`` is neither a folder nor a zip, or none of its files is of ``series``.
    """
    from viewer.io.dicom_series import read_heads, read_slices

    p = Path(path)
    if p.is_dir():
        sources = _folder_sources(p)
    elif p.is_file() and sniff.is_zip(Source.from_path(p).head()):
        sources = zip_sources(p)
    else:
        raise StudyLoadError(p, f"series {series} is picked from a folder or a zip, not a single file")
    heads = read_heads(sources)
    dicom = [(s, h) for s, h in zip(sources, heads, strict=True) if sniff.is_dicom(h[: sniff.HEAD_BYTES])]
    slices = read_slices([s for s, _ in dicom], [h for _, h in dicom])
    picked = [s.source for s in slices if s.series_uid == series]
    if not picked:
        raise StudyLoadError(p, f"series {series} not found")
    return picked


def load_image(path: str | os.PathLike[str]) -> Image:
    """Load the primary image (frontal radiograph or volume) of the study at ``path``."""
    return load_study(path).primary


__all__ = ["load_image", "load_study"]
