"""A decoded-pixel cache: a study's canonical pixels written once as ``.npy``, read back memory-mapped.

A PACS does not re-decode the source on every open; it keeps a decoded, directly addressable copy. Here
the readers' output (float32 modality values in the SPL layout of :mod:`viewer.records`) is written once
per input into ``<data dir>/cache/pixels/v<FORMAT>/<key>/``:

* ``<n>.npy`` — image ``n``'s pixels, uncompressed, so ``np.load(mmap_mode="r")`` reads only the pages
  a consumer touches (the visible slice first) and the record's ``pixels`` is a **read-only** memmap;
* ``entry.json`` — every other field of each :class:`~viewer.records.Image` (spacing, affine, modality,
  photometric, default window, VOI function/LUT, source, sha256, meta, view, warnings), the study kind,
  each ``.npy``'s byte size and a value summary (:class:`ValueSummary`: integral? finite min/max) so the
  pixel routes choose their wire dtype without scanning the volume.

The key is the sha256 of the source bytes (:func:`source_digest`: the file, or a folder's files in sorted
order with their relative paths) plus ``series=`` when given: a changed source is a new key, so it is
re-read; the format version is the folder name, so a new format never reads an old entry.

Safety: an entry is built in a ``.tmp-…`` folder and renamed into place (``rename`` is atomic; when two
writers race, the second rename fails and its copy is dropped), so readers only ever see complete
entries. A reader also checks every ``.npy``'s size and header against ``entry.json``; anything that does
not match (a truncated file, a missing or bad JSON) is a miss: the entry is removed and rewritten.
Removal renames the entry aside before deleting it, and open memmaps of a removed entry stay valid
(POSIX unlink semantics). The cache is bounded (``RADREVIEW_PIXEL_CACHE_GB``, default 20): after each
write the least recently used entries (``entry.json``'s mtime, touched on every hit) are evicted, and
stale ``.tmp-…`` folders of killed writers are swept. ``RADREVIEW_PIXEL_CACHE=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from viewer.records import Image, Study

FORMAT_VERSION = 2  # 2: DICOM localizers left out of a series, or refused when alone
"""Bump when the entry layout or the readers' canonical output changes: old entries are then ignored."""
DEFAULT_MAX_GB = 20.0
STALE_TMP_S = 3600.0
_ENTRY = "entry.json"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class ValueSummary:
    """What the wire format needs to know about an image's values, computed once when cached.

    Attributes:
        integral: Every value is finite and a whole number.
        vmin: Smallest finite value (0 when none is finite).
        vmax: Largest finite value (0 when none is finite).
    """

    integral: bool
    vmin: float
    vmax: float


def summarise(pixels: npt.NDArray[Any]) -> ValueSummary:
    """The :class:`ValueSummary` of ``pixels``, computed in slabs (bounded extra memory)."""
    values = pixels if pixels.ndim == 3 else pixels[np.newaxis]
    integral, lo, hi = True, np.inf, -np.inf
    for start in range(0, values.shape[0], 16):
        slab = np.asarray(values[start : start + 16])
        finite = np.isfinite(slab)
        if not finite.all():
            integral = False
            slab = slab[finite]
        elif integral:
            integral = bool(np.array_equal(np.rint(slab), slab))
        if slab.size:
            lo, hi = min(lo, float(slab.min())), max(hi, float(slab.max()))
    return ValueSummary(integral, lo, hi) if lo <= hi else ValueSummary(integral, 0.0, 0.0)


def _walk(folder: Path) -> Iterator[Path]:
    """Files under ``folder`` in the order :func:`viewer.io.load_study` reads them (dot-files skipped)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if not name.startswith(".") and path.is_file():
                yield path


def source_digest(path: str | os.PathLike[str], series: str | None = None) -> str:
    """The cache key of a source: sha256 of a file's bytes (= ``Image.sha256`` for a single file), or of
    a folder's files (relative path, size, bytes; sorted), plus ``series`` when given.

    Raises:
        OSError: The source cannot be read.
    """
    p = Path(path)
    digest = hashlib.sha256()
    files = [(p, "")] if p.is_file() else [(f, f.relative_to(p).as_posix()) for f in _walk(p)]
    for file, rel in files:
        if rel:
            digest.update(f"{rel}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                digest.update(block)
    if series is not None:
        digest.update(b"\0series\0" + series.encode())
    return digest.hexdigest()


def _image_meta(image: Image, root: str, npy_bytes: int) -> dict[str, Any]:
    source = image.source
    relative = source[len(root):] if root and source.startswith(root) else None
    return {
        "shape": list(image.shape), "dtype": str(image.pixels.dtype), "npy_bytes": npy_bytes,
        "spacing_mm": list(image.spacing_mm) if image.spacing_mm is not None else None,
        "affine": np.asarray(image.affine, dtype=np.float64).tolist(),
        "modality": image.modality, "photometric": image.photometric,
        "default_window": list(image.default_window) if image.default_window is not None else None,
        "voi_function": image.voi_function, "view": image.view, "warnings": list(image.warnings),
        "voi_lut": [image.voi_lut[0], image.voi_lut[1], list(image.voi_lut[2])] if image.voi_lut else None,
        "source": source, "source_relative": relative, "sha256": image.sha256, "meta": dict(image.meta),
        "summary": vars(summarise(image.pixels)),
    }


def _image(meta: dict[str, Any], pixels: npt.NDArray[np.float32], root: str) -> Image:
    relative = meta.get("source_relative")
    window, lut = meta["default_window"], meta["voi_lut"]
    return Image(
        pixels=pixels,
        spacing_mm=tuple(float(s) for s in meta["spacing_mm"]) if meta["spacing_mm"] is not None else None,
        affine=np.array(meta["affine"], dtype=np.float64),
        modality=meta["modality"], photometric=meta["photometric"],
        default_window=(float(window[0]), float(window[1])) if window is not None else None,
        source=root + relative if relative is not None else meta["source"],
        sha256=meta["sha256"], meta=dict(meta["meta"]), voi_function=meta["voi_function"],
        view=meta["view"], warnings=tuple(meta["warnings"]),
        voi_lut=(int(lut[0]), int(lut[1]), tuple(int(v) for v in lut[2])) if lut else None,
    )


class PixelCache:
    """The decoded-pixel cache in one folder (see the module docstring).

    Args:
        root: The cache folder (entries go under ``root/v<FORMAT_VERSION>/``).
        max_bytes: Size bound; the least recently used entries beyond it are evicted after a write.
    """

    def __init__(self, root: Path, max_bytes: int = int(DEFAULT_MAX_GB * 1e9)) -> None:
        self.root = Path(root)
        self.folder = self.root / f"v{FORMAT_VERSION}"
        self.max_bytes = max_bytes

    def entry(self, key: str) -> Path:
        """The folder of the entry ``key``."""
        return self.folder / key

    def get(self, key: str, source_root: str = "") -> tuple[str, list[Image]] | None:
        """The study kind and images of entry ``key`` with memory-mapped, read-only pixels; ``None`` (and
        the bad entry removed) when it is missing, incomplete or inconsistent."""
        folder = self.entry(key)
        try:
            doc = json.loads((folder / _ENTRY).read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT_VERSION or doc.get("key") != key:
                raise ValueError("format or key mismatch")
            images = [self._read(folder / f"{n}.npy", meta, source_root)
                      for n, meta in enumerate(doc["images"])]
            if not images:
                raise ValueError("no images")
        except FileNotFoundError:
            if folder.exists():
                self.discard(key)
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            self.discard(key)
            return None
        with contextlib.suppress(OSError):
            os.utime(folder / _ENTRY)  # least recently used = oldest mtime
        return str(doc["kind"]), images

    @staticmethod
    def _read(path: Path, meta: dict[str, Any], source_root: str) -> Image:
        if path.stat().st_size != int(meta["npy_bytes"]):
            raise ValueError(f"{path}: {path.stat().st_size} bytes, expected {meta['npy_bytes']}")
        pixels = np.load(path, mmap_mode="r", allow_pickle=False)
        if list(pixels.shape) != list(meta["shape"]) or str(pixels.dtype) != meta["dtype"]:
            raise ValueError(f"{path}: shape/dtype differ from the entry")
        return _image(meta, pixels, source_root)

    def put(self, key: str, kind: str, images: Sequence[Image], source_root: str = "") -> None:
        """Write entry ``key`` (atomically; an existing complete entry is kept), then evict beyond the bound.

        Raises:
            OSError: The cache folder cannot be written (disk full, permissions).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".tmp-{key}-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            metas = []
            for n, image in enumerate(images):
                path = tmp / f"{n}.npy"
                np.save(path, np.ascontiguousarray(image.pixels), allow_pickle=False)
                metas.append(_image_meta(image, source_root, path.stat().st_size))
            doc = {"format": FORMAT_VERSION, "key": key, "kind": kind, "images": metas,
                   "written_at": time.time()}
            (tmp / _ENTRY).write_text(json.dumps(doc), encoding="utf-8")
            try:
                os.rename(tmp, self.entry(key))
            except OSError:  # another writer won the race (or a bad entry is in the way: drop it)
                if self.get(key, source_root) is None:
                    os.rename(tmp, self.entry(key))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.evict(keep=key)

    def discard(self, key: str) -> None:
        """Remove entry ``key`` (renamed aside first, so no reader sees it half-deleted)."""
        aside = self.folder / f".trash-{key}-{secrets.token_hex(4)}"
        try:
            os.rename(self.entry(key), aside)
        except OSError:
            return
        shutil.rmtree(aside, ignore_errors=True)

    def entries(self) -> list[tuple[float, int, str]]:
        """``(last used, bytes, key)`` of every complete entry, least recently used first."""
        out = []
        for folder in self.folder.glob("[!.]*"):
            with contextlib.suppress(OSError):
                used = (folder / _ENTRY).stat().st_mtime
                size = sum(f.stat().st_size for f in folder.iterdir())
                out.append((used, size, folder.name))
        return sorted(out)

    def evict(self, keep: str | None = None) -> None:
        """Drop the least recently used entries beyond ``max_bytes`` (never ``keep``), stale temp folders
        of killed writers, and folders of other format versions."""
        now = time.time()
        for stale in self.folder.glob(".*"):
            with contextlib.suppress(OSError):
                if now - stale.stat().st_mtime > STALE_TMP_S:
                    shutil.rmtree(stale, ignore_errors=True)
        for other in self.root.glob("v*"):
            if other != self.folder and other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for _, size, key in entries:
            if total <= self.max_bytes:
                break
            if key != keep:
                self.discard(key)
                total -= size

    def clear(self) -> None:
        """Remove every entry."""
        for _, _, key in self.entries():
            self.discard(key)


def cache_for(data_dir: str | os.PathLike[str]) -> PixelCache | None:
    """The pixel cache of a data directory (``<data dir>/cache/pixels``), or ``None`` when
    ``RADREVIEW_PIXEL_CACHE`` is ``0``/``off``; the bound is ``RADREVIEW_PIXEL_CACHE_GB`` (default 20)."""
    if os.environ.get("RADREVIEW_PIXEL_CACHE", "1").strip().lower() in ("0", "off", "false", "no"):
        return None
    gb = float(os.environ.get("RADREVIEW_PIXEL_CACHE_GB", DEFAULT_MAX_GB))
    return PixelCache(Path(data_dir) / "cache" / "pixels", int(gb * 1e9))


def summary_of(pixels: npt.NDArray[Any]) -> ValueSummary | None:
    """The recorded :class:`ValueSummary` of pixels memory-mapped from a cache entry, else ``None``."""
    filename = getattr(pixels, "filename", None)
    if not isinstance(pixels, np.memmap) or not filename:
        return None
    path = Path(filename)
    try:
        doc = json.loads((path.parent / _ENTRY).read_text(encoding="utf-8"))
        meta = doc["images"][int(path.stem)]
        if list(meta["shape"]) != list(pixels.shape):
            return None
        return ValueSummary(bool(meta["summary"]["integral"]), float(meta["summary"]["vmin"]),
                            float(meta["summary"]["vmax"]))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def store(cache: PixelCache | None, path: str | os.PathLike[str], study: Study,
          series: str | None = None) -> None:
    """Warm the cache with a study just loaded from ``path`` (e.g. at ingest); errors are ignored (the
    first open then reads the source)."""
    if cache is None:
        return
    with contextlib.suppress(OSError, ValueError):
        cache.put(source_digest(path, series), study.kind, study.images, str(path))


def load_study_cached(path: str | os.PathLike[str], cache: PixelCache | None, *, series: str | None = None,
                      case_id: str | None = None) -> Study:
    """:func:`viewer.io.load_study` through the pixel cache: a hit is memory-mapped (no decoding), a miss
    is read by the readers and written to the cache. With ``cache=None``, a plain ``load_study``.

    Raises:
        StudyLoadError: As :func:`viewer.io.load_study` (the cache never hides a reader's error).
    """
    from viewer.io.loader import _study, load_study

    if cache is None or not Path(path).exists():
        return load_study(path, series=series, case_id=case_id)
    try:
        key = source_digest(path, series)
    except OSError:
        return load_study(path, series=series, case_id=case_id)
    hit = cache.get(key, str(path))
    if hit is not None:
        return _study(hit[1], case_id)
    study = load_study(path, series=series, case_id=case_id)
    with contextlib.suppress(OSError, ValueError):
        cache.put(key, study.kind, study.images, str(path))
    return study


__all__ = ["FORMAT_VERSION", "PixelCache", "ValueSummary", "cache_for", "load_study_cached", "source_digest",
           "store", "summarise", "summary_of"]
