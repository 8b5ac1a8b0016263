"""DICOM series (CT, MR…): a folder or zip of single-frame slices → one SPL volume in modality units.

Steps: headers only (``stop_before_pixels``) → group by SeriesInstanceUID → sort by ImagePositionPatient
projected on the slice normal (row cosines × column cosines; never file name or InstanceNumber) → check
geometry (missing slices and duplicate positions are errors; uneven spacing and gantry tilt are warnings)
→ pixels (uncompressed little-endian: straight from the file bytes; otherwise pydicom's handlers, in
threads) → modality LUT per slice (HU) → reorient to SPL (flip/transpose) with the LPS affine.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from viewer.errors import SeveralSeriesError, StudyLoadError
from viewer.io import dicom_common as dc
from viewer.io import rawtags, tags
from viewer.io.dicom_geometry import acquisition_plane, geometry
from viewer.io.orient import axis_spacing, to_spl
from viewer.io.source import Source
from viewer.records import Image

_RAW_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}  # implicit / explicit VR little endian
DEFLATED = "1.2.840.10008.1.2.1.99"
"""Deflated Explicit VR Little Endian: the dataset after the file meta group is zlib-deflated."""
_PIXEL_DATA_LE = tags.tag_bytes(tags.PIXEL_DATA)


@dataclass
class Slice:
    """One parsed slice header with its file bytes and the attributes the series logic needs.

    The attributes come from :mod:`viewer.io.dicom_scan` (or, where it does not apply, from pydicom's raw
    elements); the pydicom dataset itself is parsed only when something asks for :attr:`ds`.
    """

    source: Source
    data: bytes
    dataset: Any
    pixel_offset: int
    series_uid: str = ""
    modality: str = ""
    frames: int = 1
    rows: int = 0
    cols: int = 0
    iop: npt.NDArray[np.float64] | None = None
    ipp: npt.NDArray[np.float64] | None = None
    syntax: str = ""
    bits: int = 16
    bits_stored: int = 16
    signed: bool = False
    samples: int = 1
    rescale: tuple[float, float] | None = (1.0, 0.0)
    complete: bool = True
    has_pixels: bool = True
    """True when the file holds a pixel data element (7FE0,0010/0008/0009)."""
    image_type: tuple[str, ...] = ()
    """ImageType values, upper case (``ORIGINAL``, ``PRIMARY``, ``AXIAL`` or ``LOCALIZER`` …)."""

    @property
    def localizer(self) -> bool:
        """A localizer (scout, topogram): a planning projection, not a slice of the diagnostic volume
        (ImageType value 3 ``LOCALIZER``, PS3.3 C.8.2.1.1.1)."""
        return "LOCALIZER" in self.image_type

    def content(self) -> bytes:
        """The whole file (``data`` may hold only its head)."""
        return self.data if self.complete else self.source.read_bytes()

    @property
    def ds(self) -> Any:
        """The pydicom dataset (header only unless pixels were decoded), parsed on first use."""
        if self.dataset is None:
            self.dataset = _dcmread_header(self.source, self.data)[0]
        return self.dataset

    @ds.setter
    def ds(self, value: Any) -> None:
        self.dataset = value


class _ScannedHeader:
    """The ``get_item``/``in`` interface of :mod:`viewer.io.rawtags` over a :class:`dicom_scan.Scan`."""

    def __init__(self, values: dict[int, bytes]) -> None:
        self._values = values

    def get_item(self, tag: int) -> Any:
        value = self._values.get(tag)
        return None if value is None else _RawValue(value)

    def __contains__(self, tag: object) -> bool:
        return tag in self._values


@dataclass(frozen=True)
class _RawValue:
    value: bytes
    is_little_endian: bool = True


_WANTED = frozenset(
    {
        tags.IMAGE_TYPE,
        tags.SERIES_INSTANCE_UID,
        tags.MODALITY,
        tags.NUMBER_OF_FRAMES,
        tags.ROWS,
        tags.COLUMNS,
        tags.IMAGE_ORIENTATION_PATIENT,
        tags.IMAGE_POSITION_PATIENT,
        tags.BITS_ALLOCATED,
        tags.BITS_STORED,
        tags.PIXEL_REPRESENTATION,
        tags.SAMPLES_PER_PIXEL,
        tags.RESCALE_SLOPE,
        tags.RESCALE_INTERCEPT,
        tags.MODALITY_LUT_SEQUENCE,
    }
)


def _dcmread_header(source: Source, data: bytes) -> tuple[Any, int, bool]:
    """pydicom's header parse: the dataset, where it stopped, and whether pixel data follows.

    A deflated dataset is inflated by pydicom into a buffer of its own, so the stop offset says nothing
    about ``data``: such a file (rare, and small) is parsed whole and asked for its pixel element.
    """
    import pydicom

    buffer = io.BytesIO(data)
    try:
        ds = pydicom.dcmread(buffer, stop_before_pixels=True, force=True)
        if _syntax_of(ds) != DEFLATED:
            return ds, buffer.tell(), dc.pixel_tag_at(data, buffer.tell())
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as exc:
        raise StudyLoadError(
            source.name, f"truncated or corrupt DICOM ({type(exc).__name__}: {exc})"
        ) from exc
    return ds, len(data), any(tag in ds for tag in tags.PIXEL_DATA_TAGS)


def _syntax_of(ds: Any) -> str:
    meta = getattr(ds, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""


def _vector(ds: Any, tag: int, n: int) -> npt.NDArray[np.float64] | None:
    values = rawtags.numbers(ds, tag)
    return np.array(values, dtype=np.float64) if values is not None and len(values) == n else None


def _rescale_of(ds: Any) -> tuple[float, float] | None:
    if tags.MODALITY_LUT_SEQUENCE in ds:  # pydicom's apply_modality_lut handles a LUT sequence
        return None
    slope = rawtags.first(ds, tags.RESCALE_SLOPE, 1.0)
    intercept = rawtags.first(ds, tags.RESCALE_INTERCEPT, 0.0)
    return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)


HEAD_CHUNK = 64 * 1024
"""Bytes read per file for the header pass; larger headers are re-read whole."""


def read_slice(source: Source, data: bytes | None = None) -> Slice:
    """Parse one file's header (no pixels decoded).

    Args:
        source: The file.
        data: Its content, or only its first bytes (e.g. :data:`HEAD_CHUNK`); read whole when ``None``.
    """
    from viewer.io.dicom_scan import scan

    data = source.read_bytes() if data is None else data
    if not data:
        raise StudyLoadError(source.name, "empty file (0 bytes)")
    complete = len(data) >= source.size
    scanned = scan(data, _WANTED)
    if not complete and (scanned is None or scanned.pixel_offset + 4 > len(data)):
        return read_slice(source, source.read_bytes())  # header longer than the chunk, or unusual
    if scanned is not None:
        header: Any = _ScannedHeader(scanned.values)
        dataset, offset, syntax = None, scanned.pixel_offset, scanned.syntax
        has_pixels = dc.pixel_tag_at(data, offset)
    else:
        dataset, offset, has_pixels = _dcmread_header(source, data)
        header, syntax = dataset, _syntax_of(dataset)
    return Slice(
        source=source,
        data=data,
        dataset=dataset,
        pixel_offset=offset,
        syntax=syntax,
        complete=complete,
        has_pixels=has_pixels,
        series_uid=rawtags.text(header, tags.SERIES_INSTANCE_UID) or "(no SeriesInstanceUID)",
        modality=(rawtags.text(header, tags.MODALITY) or "OT").upper(),
        frames=int(rawtags.first(header, tags.NUMBER_OF_FRAMES, 1.0) or 1),
        rows=rawtags.unsigned(header, tags.ROWS, 0),
        cols=rawtags.unsigned(header, tags.COLUMNS, 0),
        iop=_vector(header, tags.IMAGE_ORIENTATION_PATIENT, 6),
        ipp=_vector(header, tags.IMAGE_POSITION_PATIENT, 3),
        bits=rawtags.unsigned(header, tags.BITS_ALLOCATED, 16),
        bits_stored=rawtags.unsigned(header, tags.BITS_STORED, 0),
        signed=rawtags.unsigned(header, tags.PIXEL_REPRESENTATION, 0) == 1,
        samples=rawtags.unsigned(header, tags.SAMPLES_PER_PIXEL, 1),
        rescale=_rescale_of(header),
        image_type=rawtags.texts(header, tags.IMAGE_TYPE),
    )


def read_heads(sources: Sequence[Source], size: int = HEAD_CHUNK) -> list[bytes]:
    """The first ``size`` bytes of every source, read in a thread pool (file reads release the GIL)."""
    workers = min(8, max(1, len(sources)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda source: source.head(size), sources))


def read_slices(sources: Sequence[Source], datas: Sequence[bytes] | None = None) -> list[Slice]:
    """Headers (no pixels) of many files, from their heads (read in a thread pool unless given)."""
    contents = read_heads(sources) if datas is None else datas
    return [read_slice(source, data) for source, data in zip(sources, contents, strict=True)]


def describe_series(groups: dict[str, list[Slice]]) -> str:
    """``UID (N slices, CT, description)`` for each series, largest first."""
    parts = []
    for uid, slices in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        ds = slices[0].ds
        desc = str(dc.get(ds, "SeriesDescription", "")).strip()
        parts.append(
            f"{uid} ({len(slices)} slices, {dc.get(ds, 'Modality', '?')}{', ' + desc if desc else ''})"
        )
    return "; ".join(parts)


def select_series(where: str, slices: list[Slice], series: str | None) -> list[Slice]:
    """The slices of one series: the only one, or the one named by ``series``."""
    groups: dict[str, list[Slice]] = {}
    for s in slices:
        groups.setdefault(s.series_uid, []).append(s)
    if series is not None:
        if series not in groups:
            raise StudyLoadError(where, f"series {series} not found; present: {describe_series(groups)}")
        return groups[series]
    if len(groups) > 1:
        raise SeveralSeriesError(where, len(groups), describe_series(groups))
    return next(iter(groups.values()))


def _raw_slice(s: Slice, data: bytes) -> npt.NDArray[Any] | None:
    """The stored pixels straight from the file bytes when uncompressed little endian, else ``None``."""
    if s.syntax not in _RAW_SYNTAXES or s.samples != 1 or s.bits not in (8, 16, 32):
        return None
    nbytes = s.rows * s.cols * s.bits // 8
    if data[s.pixel_offset : s.pixel_offset + 4] != _PIXEL_DATA_LE:
        return None
    start = s.pixel_offset + (12 if s.syntax == "1.2.840.10008.1.2.1" else 8)
    declared = int.from_bytes(data[start - 4 : start], "little")
    if declared < nbytes or declared == 0xFFFFFFFF or start + nbytes > len(data):
        return None  # short or odd pixel data: pydicom decides (and explains) below
    dtype = np.dtype(f"<{'i' if s.signed else 'u'}{s.bits // 8}")
    arr = np.frombuffer(data, dtype=dtype, count=s.rows * s.cols, offset=start).reshape(s.rows, s.cols)
    if 0 < s.bits_stored < s.bits:  # mask (unsigned) or sign-extend (signed) unused high bits, as pydicom
        if s.signed:
            shift = np.array(s.bits - s.bits_stored, dtype=dtype)
            return (arr << shift) >> shift  # type: ignore[no-any-return]
        return arr & np.array((1 << s.bits_stored) - 1, dtype=dtype)  # type: ignore[no-any-return]
    return arr


def _decoded_slice(s: Slice, data: bytes) -> npt.NDArray[Any]:
    ds = dc.read_dataset(s.source, header_only=False, data=data)
    dc.check_pixels_parsed(ds, s.source.name)
    arr = dc.decode(ds, s.source.name)
    if arr.ndim != 2:
        raise StudyLoadError(
            s.source.name, f"expected a single-frame greyscale slice, got pixels {arr.shape}"
        )
    s.ds = ds
    return arr


def _fill(volume: npt.NDArray[np.float32], k: int, s: Slice) -> bytes:
    """Read slice ``s`` whole, write its modality values into ``volume[k]``, and return its bytes."""
    data = s.content()
    raw = _raw_slice(s, data)
    arr = raw if raw is not None else _decoded_slice(s, data)
    if arr.shape != volume.shape[1:]:
        raise StudyLoadError(s.source.name, f"pixel array {arr.shape} does not match the header")
    lut = s.rescale
    if lut is None:
        volume[k] = dc.modality_lut(arr, s.ds)
        return data
    slope, intercept = lut
    out = volume[k]
    if slope == 1.0:  # one pass: stored + intercept, computed in float32
        np.add(arr, np.float32(intercept), out=out, casting="unsafe")
        return data
    np.multiply(arr, np.float32(slope), out=out, casting="unsafe")
    out += np.float32(intercept)
    return data


def stack_pixels(where: str, ordered: list[Slice]) -> tuple[npt.NDArray[np.float32], str]:
    """Sorted slices → float32 modality-value volume and the sha256 of the files in that order.

    Worker threads read and convert slices (file reads and numpy release the GIL); this thread hashes
    each file's bytes as its slice completes, in order, so no file is held longer than needed.
    """
    dc.check_pixel_header(ordered[0].ds, ordered[0].source.name, ordered[0].has_pixels)
    for s in ordered:  # same size as the first (checked by geometry)
        if not s.has_pixels:
            dc.check_pixel_header(s.ds, s.source.name, False)
    for syntax in {s.syntax for s in ordered}:
        dc.check_decoder(next(s for s in ordered if s.syntax == syntax).ds, where)
    rows, cols = ordered[0].rows, ordered[0].cols
    volume = np.empty((len(ordered), rows, cols), dtype=np.float32)
    digest = hashlib.sha256()
    workers = min(4, (os.cpu_count() or 2), len(ordered))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for data in pool.map(lambda ks: _fill(volume, ks[0], ks[1]), enumerate(ordered)):
            digest.update(data)
    return volume, digest.hexdigest()


def volume_from_slices(where: str, slices: list[Slice]) -> Image:
    """Assemble one series' slices into a canonical SPL :class:`Image` (HU for CT).

    Args:
        where: The folder, archive or file named in messages.
        slices: Slices of one series, any order.
    """
    geo = geometry(where, slices)
    ordered = [slices[i] for i in geo.order]
    volume, sha = stack_pixels(where, ordered)
    pixels, affine = to_spl(volume, geo.affine)
    first = ordered[0].ds
    photometric = str(dc.get(first, "PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    meta = dc.safe_meta(first)
    meta["NumberOfSlices"] = str(len(ordered))
    meta["AcquisitionPlane"] = acquisition_plane(geo.affine)
    return Image(
        pixels=pixels,
        spacing_mm=axis_spacing(affine),
        affine=affine,
        modality=str(dc.get(first, "Modality", "OT")).upper(),
        photometric=photometric,
        default_window=dc.default_window(first),
        source=where,
        sha256=sha,
        meta=meta,
        voi_function=dc.voi_function(first),
        view="AXIAL" if meta["AcquisitionPlane"] == "AXIAL" else "",
        warnings=geo.warnings,
        voi_lut=dc.voi_lut(first),
    )


def is_volume_slice(s: Slice) -> bool:
    """True for a single-frame CT/MR/PT/NM slice with patient geometry (read as part of a volume); a
    localizer is not one."""
    return (s.modality in dc.VOLUME_MODALITIES and s.iop is not None and s.ipp is not None and s.frames == 1
            and not s.localizer)


def refuse_localizers(where: str, slices: list[Slice]) -> None:
    """Refuse input whose only images are localizers: a scout is a planning projection, neither a
    diagnostic CT/MR series nor a chest radiograph (read as either, every measurement would mislead).

    Raises:
        StudyLoadError: every slice is a localizer.
    """
    if slices and all(s.localizer for s in slices):
        modality = slices[0].modality
        raise StudyLoadError(where, f"{len(slices)} {modality} localizer (scout) image(s) only: a planning "
                                    "projection, not a diagnostic series; pass the axial series")
