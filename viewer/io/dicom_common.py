"""DICOM helpers shared by the single-image and series readers: parsing, guards, VOI, safe metadata."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from viewer.errors import MissingExtraError, StudyLoadError
from viewer.io import tags
from viewer.io.colour import LUMA_NOTE, luma
from viewer.io.source import Source

MAX_PIXEL_BYTES = 2 * 1024**3
"""Largest decoded pixel payload accepted from one header (Rows × Columns × frames × bytes), 2 GiB."""

SAFE_TAGS = (
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "SOPClassUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "FrameOfReferenceUID",
    "BodyPartExamined",
    "ViewPosition",
    "PatientOrientation",
    "ImageType",
    "KVP",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ConvolutionKernel",
    "PhotometricInterpretation",
    "BitsStored",
    "PixelRepresentation",
    "TransferSyntaxUID",
    "Laterality",
    "ImageLaterality",
    "PresentationIntentType",
)
"""Tags copied into ``Image.meta``: technique and UIDs only — no names, IDs, dates or free-text
descriptions (Study/Series Description, Protocol Name and Contrast Agent are removed by the PS3.15 basic
profile, so they are not kept either)."""

VOLUME_MODALITIES = {"CT", "MR", "PT", "NM"}
"""Modalities whose images are slices of a volume (a single slice loads as a one-slice volume)."""


def read_dataset(source: Source, *, header_only: bool, data: bytes | None = None) -> Any:
    """Parse a DICOM file, turning every parser failure into a :class:`StudyLoadError`.

    Args:
        source: The file.
        header_only: Stop before the pixel data (``stop_before_pixels``).
        data: The file's bytes when already in memory.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    buffer = io.BytesIO(data if data is not None else source.read_bytes())
    try:
        return pydicom.dcmread(buffer, stop_before_pixels=header_only, force=True)
    except InvalidDicomError as exc:
        raise StudyLoadError(source.name, f"not a DICOM file ({exc})") from exc
    except Exception as exc:  # pydicom raises many types on truncated or garbled input
        raise StudyLoadError(
            source.name, f"truncated or corrupt DICOM ({type(exc).__name__}: {exc})"
        ) from exc


def get(ds: Any, keyword: str, default: Any = None) -> Any:
    """An element value, or ``default`` when absent, empty or unparsable."""
    try:
        value = ds.get(keyword, default)
    except Exception:  # a garbled value raises on access
        return default
    return default if value is None or value == "" else value


def first_float(value: Any) -> float | None:
    """The first number of a possibly multi-valued DS/IS element."""
    if value is None:
        return None
    try:
        items = list(value) if _multi(value) else [value]
        number = float(items[0])
    except (TypeError, ValueError, IndexError):
        return None
    return number if math.isfinite(number) else None


_PIXEL_TAGS = frozenset(
    {tags.tag_bytes(tag) for tag in tags.PIXEL_DATA_TAGS}
    | {tags.tag_bytes(tag, little_endian=False) for tag in tags.PIXEL_DATA_TAGS}
)


def pixel_tag_at(data: bytes, offset: int) -> bool:
    """True when a (7FE0,0010/0008/0009) pixel data tag starts at ``offset`` (where a header scan stopped)."""
    return data[offset : offset + 4] in _PIXEL_TAGS


def check_pixel_header(ds: Any, name: str, has_pixels: bool) -> None:
    """Refuse a dataset without pixel data or whose header claims an absurd pixel payload.

    Runs on a header-only parse (``has_pixels`` from :func:`pixel_tag_at`), before any pixel buffer
    is allocated.
    """
    if not has_pixels:
        sop = get(ds, "SOPClassUID")
        what = getattr(sop, "name", None) or str(sop or "unknown SOP class")
        raise StudyLoadError(
            name,
            f"DICOM file has no pixel data ({what}, modality "
            f"{get(ds, 'Modality', '?')}); pass an image or an image series",
        )
    try:
        rows, cols = int(get(ds, "Rows", 0)), int(get(ds, "Columns", 0))
        frames = int(first_float(get(ds, "NumberOfFrames", 1)) or 1)
        samples = int(get(ds, "SamplesPerPixel", 1))
        bits = int(get(ds, "BitsAllocated", 16))
    except (TypeError, ValueError, OverflowError) as exc:
        raise StudyLoadError(name, f"DICOM image size tags are not numbers ({exc}); corrupt header") from exc
    if rows <= 0 or cols <= 0:
        raise StudyLoadError(
            name, f"DICOM header gives an empty image ({rows}×{cols} pixels: Rows/Columns missing or zero)"
        )
    size = rows * cols * max(frames, 1) * samples * max(bits, 8) // 8
    if size > MAX_PIXEL_BYTES:
        raise StudyLoadError(
            name,
            f"DICOM header claims {rows}×{cols} pixels × {frames} frames × {bits} bits "
            f"= {size / 1024**3:.1f} GiB, over the {MAX_PIXEL_BYTES // 1024**3} GiB cap; "
            "refusing before allocating",
        )


def check_pixels_parsed(ds: Any, name: str) -> None:
    """Refuse a full parse that lost the pixel data element the header scan saw.

    pydicom, reading with ``force=True``, returns what it could parse (sometimes nothing at all) when an
    element runs past the end of the file — typically encapsulated pixel data without its sequence
    delimiter — and only warns; without this check the loss would surface as a misleading "empty image".
    """
    if not any(tag in ds for tag in tags.PIXEL_DATA_TAGS):
        raise StudyLoadError(
            name,
            "truncated or corrupt DICOM: the pixel data element could not be read to its end "
            "(file cut short?)",
        )


def check_decoder(ds: Any, name: str) -> None:
    """Raise :class:`MissingExtraError` when the transfer syntax needs a codec that is not installed."""
    from pydicom.pixels.decoders.base import get_decoder

    uid = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if uid is None:
        return
    if not uid.is_transfer_syntax:
        raise StudyLoadError(name, f"TransferSyntaxUID {str(uid)[:64]!r} is not a transfer syntax "
                             "(corrupt file meta header)")
    if not uid.is_compressed:
        return
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        raise StudyLoadError(name, f"unsupported transfer syntax {uid.name} ({uid})") from exc
    if not decoder.is_available:
        raise MissingExtraError("codecs", f"{uid.name} pixel data in {name}")


def decode(ds: Any, name: str) -> npt.NDArray[Any]:
    """The stored pixel array (``ds.pixel_array``), with decoder and truncation failures explained."""
    check_decoder(ds, name)
    try:
        return np.asarray(ds.pixel_array)
    except MissingExtraError:
        raise
    except Exception as exc:
        raise StudyLoadError(
            name, f"cannot decode pixel data: {' '.join(str(exc).split())[:300]} (truncated or corrupt file?)"
        ) from exc


def modality_lut(arr: npt.NDArray[Any], ds: Any) -> npt.NDArray[np.float32]:
    """Apply the modality LUT (Rescale Slope/Intercept or Modality LUT Sequence, PS3.3 C.11.1) first."""
    from pydicom.pixels.processing import apply_modality_lut

    return np.asarray(apply_modality_lut(arr, ds), dtype=np.float32)


def default_window(ds: Any) -> tuple[float, float] | None:
    """The first (center, width) pair of the VOI LUT module, or ``None`` (PS3.3 C.11.2)."""
    center = first_float(get(ds, "WindowCenter"))
    width = first_float(get(ds, "WindowWidth"))
    if center is None or width is None or width <= 0:
        return None
    return center, width


def voi_function(ds: Any) -> str:
    """VOILUTFunction (``LINEAR``, ``LINEAR_EXACT`` or ``SIGMOID``); ``LINEAR`` when absent or unknown."""
    value = str(get(ds, "VOILUTFunction", "LINEAR")).strip().upper()
    return value if value in {"LINEAR", "LINEAR_EXACT", "SIGMOID"} else "LINEAR"


def voi_lut(ds: Any) -> tuple[int, int, tuple[int, ...]] | None:
    """The first VOI LUT Sequence item as ``(first_mapped_value, bits_per_entry, table)``, or ``None``."""
    seq = get(ds, "VOILUTSequence")
    if not seq:
        return None
    try:
        item = seq[0]
        _entries, first, bits = (int(v) for v in item.LUTDescriptor)
        raw = item.LUTData
        table = tuple(int(v) for v in (raw if not isinstance(raw, bytes) else np.frombuffer(raw, "<u2")))
    except Exception:  # an unusable LUT is dropped, the window (if any) still applies
        return None
    return first, bits, table


def pixel_spacing(ds: Any) -> tuple[tuple[float, float] | None, str]:
    """In-plane (row, column) spacing in mm and which tag gave it; ``None`` when unknown or ``0\\0``."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = get(ds, keyword)
        try:
            pair = (float(value[0]), float(value[1])) if value is not None else None
        except (TypeError, ValueError, IndexError):
            pair = None
        if pair and all(math.isfinite(v) and v > 0 for v in pair):
            return pair, keyword
    return None, ""


def safe_meta(ds: Any) -> dict[str, str]:
    """The non-PHI tags of :data:`SAFE_TAGS` as strings (multi-values joined with ``\\``)."""
    meta: dict[str, str] = {}
    for keyword in SAFE_TAGS:
        value = get(ds, keyword)
        if keyword == "TransferSyntaxUID" and hasattr(ds, "file_meta"):
            value = ds.file_meta.get("TransferSyntaxUID")
        if value is None:
            continue
        text = "\\".join(str(v) for v in value) if _multi(value) else str(value)
        if text.strip():
            meta[keyword] = text.strip()
    return meta


def _multi(value: Any) -> bool:
    return hasattr(value, "__iter__") and not isinstance(value, (str, bytes))


def palette_to_rgb(arr: npt.NDArray[Any], ds: Any, name: str) -> npt.NDArray[Any]:
    """Apply the Palette Color Lookup Table (PS3.3 C.7.9; plain or segmented) with pydicom's
    ``apply_color_lut``; an unusable table is a :class:`StudyLoadError`."""
    from pydicom.pixels.processing import apply_color_lut

    try:
        return np.asarray(apply_color_lut(arr, ds))
    except Exception as exc:  # missing or inconsistent LUT descriptor/data
        detail = " ".join(str(exc).split())[:200]
        reason = f"PALETTE COLOR image with an unusable colour lookup table ({detail})"
        raise StudyLoadError(name, reason) from exc


def to_grey(
    arr: npt.NDArray[Any], photometric: str, name: str, ds: Any = None
) -> tuple[npt.NDArray[Any], str, list[str]]:
    """Collapse colour to luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B).

    Colour images (RGB, and YBR which pydicom's ``pixel_array`` already converts to RGB) go straight to
    luma; PALETTE COLOR images go through their lookup table first (``ds`` is needed for it).

    Returns:
        The grey array, the photometric interpretation to record, and warnings (empty when the image
        was greyscale already, so the modality LUT applies).
    """
    if photometric in {"MONOCHROME1", "MONOCHROME2"} and arr.ndim == 2:
        return arr, photometric, []
    if photometric == "PALETTE COLOR" and arr.ndim == 2:
        if ds is None:
            raise StudyLoadError(name, "PALETTE COLOR image without its lookup table")
        rgb = palette_to_rgb(arr, ds, name)
        note = f"PALETTE COLOR image: colour lookup table applied, then {LUMA_NOTE}"
        return luma(rgb), "MONOCHROME2", [note]
    if arr.ndim == 3 and arr.shape[-1] == 3:
        return luma(arr), "MONOCHROME2", [f"{photometric} colour image {LUMA_NOTE}"]
    raise StudyLoadError(name, f"unsupported pixel layout {arr.shape} with photometric {photometric!r}")
