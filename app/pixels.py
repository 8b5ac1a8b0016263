"""The browser viewer's data: a study's stored values, label maps and heat maps, as the bytes the routes
of :mod:`app.pixel_routes` serve.

Values are sent *after the modality LUT* at full resolution (int16 for CT HU, uint16/int16 for integral
radiographs, float32 otherwise; see :func:`stored_array`), gzip-encoded, in chunks of
:data:`CHUNK_SLICES` slices; label maps as one uint8 volume per set of mask refs; heat maps min–max
scaled to uint8. Only studies registered in the worklist are served, by case id (validated), and only
from inside the data directory.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from app.services import ServiceError, Services
from viewer.cache import LruCache
from viewer.io.pixel_cache import ValueSummary, summary_of

if TYPE_CHECKING:
    from storage.records import ReviewState
    from viewer.records import Image, Study

CHUNK_SLICES = 8
GZIP_LEVEL = 6
CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_REF = re.compile(r"^[A-Za-z0-9:._-]{1,200}$")


class PixelError(Exception):
    """A request the routes refuse; ``status`` is the HTTP code, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StoredArray:
    """An image's values as sent: ``array`` is 3D ``[slice, row, col]`` (a radiograph has one slice); an
    :class:`AsDtype` for pixels from the decoded-pixel cache (converted per slice when indexed)."""

    array: npt.NDArray[Any] | AsDtype
    dtype: str
    vmin: float
    vmax: float


def _exact(values: npt.NDArray[Any], dtype: str) -> npt.NDArray[Any] | None:
    """``values`` as ``dtype`` when that conversion is exact (no fraction, no overflow, no NaN)."""
    info = np.iinfo(dtype)
    converted = values.astype(dtype)
    if np.issubdtype(values.dtype, np.integer):
        ok = values.size == 0 or (info.min <= int(values.min()) and int(values.max()) <= info.max)
    else:
        ok = bool(np.array_equal(converted, values))  # elementwise int → float compare, no NaN passes
    return converted if ok else None


def stored_array(pixels: npt.NDArray[Any]) -> StoredArray:
    """The smallest exact dtype for modality values: int16/uint16 when every value is an integer in
    range (CT HU, most CR/DX), else float32.

    Args:
        pixels: 2D or 3D values after the modality LUT (``Image.pixels``).
    """
    values = pixels if pixels.ndim == 3 else pixels[np.newaxis]
    sample = values.reshape(-1)[:: max(1, values.size // 4096)]
    integral = np.issubdtype(values.dtype, np.integer) or bool(np.array_equal(np.rint(sample), sample))
    for dtype in ("int16", "uint16") if integral else ():
        exact = _exact(values, dtype)
        if exact is not None:
            array = np.ascontiguousarray(exact.astype(np.dtype(dtype).newbyteorder("<"), copy=False))
            vmin, vmax = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
            return StoredArray(array, dtype, vmin, vmax)
    array = np.ascontiguousarray(values.astype("<f4"))
    finite = array[np.isfinite(array)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return StoredArray(array, "float32", vmin, vmax)


def gzip_bytes(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """``data`` as one gzip member (what ``Content-Encoding: gzip`` expects)."""
    comp = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return comp.compress(data) + comp.flush()


def chunk_count(n_slices: int) -> int:
    """Number of :data:`CHUNK_SLICES`-slice chunks covering ``n_slices`` slices."""
    return (n_slices + CHUNK_SLICES - 1) // CHUNK_SLICES


def check_case_id(case_id: str) -> str:
    """``case_id`` when it is a plain id (letters, digits, ``._-``; no path separators).

    Raises:
        PixelError: 400 otherwise.
    """
    if not CASE_ID.match(case_id) or ".." in case_id:
        raise PixelError(400, f"invalid case id {case_id!r}")
    return case_id


def _inside(data_dir: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(data_dir.resolve())
    except OSError:
        return False


def load_study(services: Services, case_id: str) -> Any:
    """The registered study of ``case_id``, refusing one whose files lie outside the data dir.

    Raises:
        PixelError: 400 bad id, 404 unknown case, 403 outside the data dir, 422 unreadable.
    """
    check_case_id(case_id)
    try:
        record = services.record(case_id)
    except ServiceError as exc:
        raise PixelError(404, str(exc)) from None
    if not _inside(services.data_dir, services.data_dir / record.data_path):
        raise PixelError(403, f"case {case_id!r}: its files are outside the data directory")
    try:
        return services.study(case_id)
    except (ServiceError, ValueError, OSError) as exc:
        raise PixelError(422, f"case {case_id!r} cannot be read: {exc}") from None


class AsDtype:
    """A 3D view of an image's values converted to the wire dtype one slab at a time, on indexing.

    Pixels memory-mapped from the decoded-pixel cache (:mod:`viewer.io.pixel_cache`) are served this
    way: ``array[k]`` reads and converts one slice only, so the first (visible) slice never waits for the
    whole volume to be read or converted.
    """

    def __init__(self, values: npt.NDArray[Any], dtype: str) -> None:
        self.values = values if values.ndim == 3 else values[np.newaxis]
        self.dtype = np.dtype(dtype).newbyteorder("<")

    @property
    def shape(self) -> tuple[int, ...]:
        """The 3D shape ``[slice, row, col]``."""
        return tuple(int(s) for s in self.values.shape)

    def __getitem__(self, key: Any) -> npt.NDArray[Any]:
        return np.ascontiguousarray(self.values[key]).astype(self.dtype)


def wire_dtype(summary: ValueSummary) -> str:
    """The dtype :func:`stored_array` picks, from a :class:`viewer.io.pixel_cache.ValueSummary`."""
    if summary.integral and summary.vmin >= -32768 and summary.vmax <= 32767:
        return "int16"
    if summary.integral and summary.vmin >= 0 and summary.vmax <= 65535:
        return "uint16"
    return "float32"


def stored_for(services: Services, image: Image) -> StoredArray:
    """:func:`stored_array` of an image, cached by its sha256 (shared, read-only). Pixels from the
    decoded-pixel cache are not scanned: their recorded value summary picks the dtype and range and
    slices are converted as they are asked for (:class:`AsDtype`)."""
    def build() -> StoredArray:
        summary = summary_of(image.pixels)
        if summary is None:
            return stored_array(np.asarray(image.pixels))
        dtype = wire_dtype(summary)
        return StoredArray(AsDtype(image.pixels, dtype), dtype, summary.vmin, summary.vmax)

    stored: StoredArray = services.artefacts.get_or_create(("rr-stored", image.sha256, image.shape), build)
    return stored


def image_of(study: Study, index: int) -> Image:
    """Image ``index`` of a study.

    Raises:
        PixelError: 404 when there is no such image.
    """
    if not 0 <= index < len(study.images):
        raise PixelError(404, f"study {study.case_id!r} has {len(study.images)} image(s), not #{index}")
    return study.images[index]


def pixel_chunk(services: Services, cache: LruCache[bytes], case_id: str, index: int, chunk: int) -> bytes:
    """The gzip bytes of one chunk of slices (cached)."""
    image = image_of(load_study(services, case_id), index)
    stored = stored_for(services, image)
    n = stored.array.shape[0]
    if not 0 <= chunk < chunk_count(n):
        raise PixelError(404, f"chunk {chunk} is outside 0..{chunk_count(n) - 1} for {n} slice(s)")

    def build() -> bytes:
        part = stored.array[chunk * CHUNK_SLICES : (chunk + 1) * CHUNK_SLICES]
        return gzip_bytes(np.ascontiguousarray(part).tobytes())

    return cache.get_or_create(("px", image.sha256, chunk), build)


def pixel_slice(services: Services, cache: LruCache[bytes], case_id: str, index: int, k: int) -> bytes:
    """The gzip bytes (level 1: fast) of one axial slice, for the first paint before its chunk lands."""
    image = image_of(load_study(services, case_id), index)
    stored = stored_for(services, image)
    if not 0 <= k < stored.array.shape[0]:
        raise PixelError(404, f"slice {k} is outside 0..{stored.array.shape[0] - 1}")
    return cache.get_or_create(
        ("px1", image.sha256, k), lambda: gzip_bytes(np.ascontiguousarray(stored.array[k]).tobytes(), 1)
    )


def mask_refs(state: ReviewState | None) -> list[tuple[str, str]]:
    """``(region, mask_ref)`` of every kept finding's phrases, in report order, without repeats."""
    refs: list[tuple[str, str]] = []
    for fs in state.findings if state is not None else ():
        if fs.status == "rejected":
            continue
        for phrase in fs.finding.phrases:
            g = phrase.grounding
            if g is not None and g.mask_ref and (fs.finding.region, g.mask_ref) not in refs:
                refs.append((fs.finding.region, g.mask_ref))
    return refs


def labels_key(refs: Iterable[tuple[str, str]]) -> str:
    """A short content key of a set of ``(region, ref)`` pairs (the label map's URL part)."""
    text = "\n".join(f"{region}\t{ref}" for region, ref in refs)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def label_names(refs: Iterable[tuple[str, str]]) -> list[str]:
    """Region names in label order (value ``n`` = ``names[n - 1]``)."""
    names: list[str] = []
    for region, _ in refs:
        if region not in names:
            names.append(region)
    return names


def label_map(
    services: Services, refs: list[tuple[str, str]], shape: tuple[int, ...]
) -> npt.NDArray[np.uint8]:
    """One uint8 label volume of the masks (later regions win where masks overlap); masks of another
    shape are skipped."""
    names = label_names(refs)
    out = np.zeros(shape, dtype=np.uint8)
    for region, ref in refs:
        mask = np.asarray(services.artefact(ref))
        if mask.shape == shape:
            out[mask.astype(bool, copy=False)] = names.index(region) + 1
    return out


def _current_state(services: Services, case_id: str) -> Any:
    from app.callbacks.review import review_state

    return review_state(services, case_id)


def labels_bytes(services: Services, cache: LruCache[bytes], case_id: str, key: str) -> bytes:
    """The gzip bytes of the case's current label map (the one ``key`` names, else 404)."""
    study = load_study(services, case_id)
    refs = mask_refs(_current_state(services, case_id))
    if labels_key(refs) != key:
        raise PixelError(404, f"label map {key!r} is not the current one of case {case_id!r}; reload")
    shape = study.primary.shape

    def build() -> bytes:
        labels = label_map(services, refs, shape)
        return gzip_bytes(labels.tobytes())

    return cache.get_or_create(("labels", case_id, key), build)


def attention_refs(state: ReviewState | None) -> set[str]:
    """Every heat-map ref the case's findings point at."""
    return {
        p.grounding.attention_ref
        for fs in (state.findings if state is not None else ())
        for p in fs.finding.phrases
        if p.grounding is not None and p.grounding.attention_ref
    }


def heat_bytes(services: Services, cache: LruCache[bytes], case_id: str, ref: str) -> bytes:
    """The gzip bytes of one of the case's heat maps, min–max scaled to 0–255 (uint8)."""
    load_study(services, case_id)
    if not _REF.match(ref) or ref not in attention_refs(_current_state(services, case_id)):
        raise PixelError(404, f"case {case_id!r} has no heat map {ref!r}")

    def build() -> bytes:
        values = np.asarray(services.artefact(ref), dtype=np.float32)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = np.nan_to_num((values - low) * (255.0 / (high - low)) if high > low else values * 0.0)
        out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        return gzip_bytes(out.tobytes())

    return cache.get_or_create(("heat", ref), build)
