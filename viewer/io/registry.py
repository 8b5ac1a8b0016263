"""The reader registry: each reader sniffs content (``can_read(name, head)``) and reads one file.

Readers are tried in order; the first whose ``can_read`` accepts the file's leading bytes reads it. When
none does, one :class:`StudyLoadError` lists every reader tried and what it looked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from viewer.errors import StudyLoadError
from viewer.io import sniff
from viewer.io.source import Source
from viewer.records import Image

MAX_FILE_BYTES = 2 * 1024**3 + 64 * 1024**2
"""Largest single file read (2 GiB of pixels plus headers); checked before reading."""


class Reader(Protocol):
    """One file format."""

    @property
    def name(self) -> str:
        """Shown in messages, e.g. ``DICOM``."""
        ...

    @property
    def expects(self) -> str:
        """What ``can_read`` looks for, shown when no reader fits."""
        ...

    def can_read(self, path: str, head: bytes) -> bool:
        """True when ``head`` (the first bytes of ``path``) looks like this format."""
        ...

    def read(self, source: Source) -> Image:
        """Read the file as one image or volume."""
        ...


@dataclass(frozen=True)
class DicomReader:
    """Single DICOM files; a lone CT/MR slice becomes a one-slice volume."""

    name: str = "DICOM"
    expects: str = "'DICM' at byte 128 or a leading group-0008 tag"

    def can_read(self, path: str, head: bytes) -> bool:
        return sniff.is_dicom(head)

    def read(self, source: Source) -> Image:
        from viewer.io import dicom_image, dicom_series

        head = dicom_series.read_slice(source)  # the whole file
        dicom_series.refuse_localizers(source.name, [head])
        if dicom_series.is_volume_slice(head):
            return dicom_series.volume_from_slices(source.name, [head])
        return dicom_image.read_image(source, data=head.data, has_pixels=head.has_pixels)


@dataclass(frozen=True)
class NiftiReader:
    """NIfTI-1/2, plain or gzip-compressed."""

    name: str = "NIfTI"
    expects: str = "a NIfTI-1/2 header (n+1/n+2 magic), possibly gzip-compressed"

    def can_read(self, path: str, head: bytes) -> bool:
        gz_named = path.lower().endswith((".nii.gz", ".nii.gzip")) and sniff.is_gzip(head)
        return sniff.is_nifti(head) or gz_named

    def read(self, source: Source) -> Image:
        from viewer.io.nifti import read_nifti

        return read_nifti(source)


@dataclass(frozen=True)
class RasterReader:
    """PNG and JPEG images."""

    name: str = "PNG/JPEG"
    expects: str = "a PNG or JPEG signature"

    def can_read(self, path: str, head: bytes) -> bool:
        return sniff.is_png(head) or sniff.is_jpeg(head)

    def read(self, source: Source) -> Image:
        from viewer.io.raster import read_raster

        return read_raster(source)


def default_readers() -> tuple[Reader, ...]:
    """The readers in the order they are tried."""
    return (DicomReader(), NiftiReader(), RasterReader())


def reader_for(source: Source, head: bytes, readers: tuple[Reader, ...] | None = None) -> Reader | None:
    """The first reader that accepts ``head``, or ``None``."""
    for reader in readers or default_readers():
        if reader.can_read(source.name, head):
            return reader
    return None


def read_one(source: Source, readers: tuple[Reader, ...] | None = None) -> Image:
    """Read one file with the first reader that sniffs it.

    Raises:
        StudyLoadError: Empty file, or no reader recognises it (the message lists what was tried).
    """
    head = source.head()
    if not head:
        raise StudyLoadError(source.name, "empty file (0 bytes)")
    if source.size > MAX_FILE_BYTES:
        raise StudyLoadError(
            source.name,
            f"file of {source.size / 1024**3:.1f} GiB is over the "
            f"{MAX_FILE_BYTES / 1024**3:.2f} GiB accepted for one image; not reading it",
        )
    reader = reader_for(source, head, readers)
    if reader is None:
        tried = "; ".join(f"{r.name} (needs {r.expects})" for r in readers or default_readers())
        hint = " — the .dcm name is not enough" if source.lower_name.endswith(".dcm") else ""
        raise StudyLoadError(source.name, f"not a recognised study file{hint}; tried {tried}")
    return reader.read(source)
