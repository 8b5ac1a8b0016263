"""The decoded-pixel cache (viewer/io/pixel_cache.py): a cached study is byte-identical to a fresh read
of the real demo files (a DICOM CT series, a NIfTI, a MONOCHROME1 CR, a PNG), memory-mapped read-only;
a changed source is re-read; a truncated or half-written entry is never used; two processes writing the
same entry leave one valid entry; the size bound evicts the least recently used entry."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from viewer.io import load_study
from viewer.io.pixel_cache import (
    PixelCache,
    ValueSummary,
    cache_for,
    load_study_cached,
    source_digest,
    summarise,
    summary_of,
)
from viewer.records import Image

_FIELDS = [f.name for f in dataclasses.fields(Image) if f.name not in ("pixels", "affine", "meta")]


def _same(cached: Image, fresh: Image) -> None:
    assert isinstance(cached.pixels, np.memmap) and not cached.pixels.flags.writeable
    assert cached.pixels.dtype == fresh.pixels.dtype == np.float32
    assert cached.pixels.shape == fresh.pixels.shape
    assert np.asarray(cached.pixels).tobytes() == fresh.pixels.tobytes()  # byte-identical
    np.testing.assert_array_equal(cached.affine, fresh.affine)
    assert cached.affine.dtype == np.float64
    assert dict(cached.meta) == dict(fresh.meta)
    for name in _FIELDS:
        assert getattr(cached, name) == getattr(fresh, name), name


@pytest.mark.parametrize("name", ["ct-dicom", "ct-nifti", "cxr-cr", "cxr-png"])
def test_round_trip_is_byte_identical(demo: dict[str, Path], tmp_path: Path, name: str) -> None:
    cache = PixelCache(tmp_path / "cache")
    fresh = load_study(demo[name])
    first = load_study_cached(demo[name], cache)  # a miss: read by the readers, then written
    assert not isinstance(first.primary.pixels, np.memmap)
    hit = load_study_cached(demo[name], cache)
    assert (hit.case_id, hit.kind, len(hit.images)) == (fresh.case_id, fresh.kind, len(fresh.images))
    for cached, image in zip(hit.images, fresh.images, strict=True):
        _same(cached, image)
    assert len(cache.entries()) == 1
    if name == "cxr-cr":
        assert hit.primary.photometric == "MONOCHROME1" and hit.primary.default_window is not None
    if name == "ct-dicom":  # a folder: keyed by its files, not by Image.sha256 (files in geometry order)
        assert source_digest(demo[name]) != fresh.primary.sha256
    else:
        assert source_digest(demo[name]) == fresh.primary.sha256


def test_summary_by_hand() -> None:
    ct = np.array([[-1024.0, 0.0], [40.0, 3071.0]], np.float32)
    assert summarise(ct) == ValueSummary(True, -1024, 3071)
    assert summarise(np.array([[0.5, 2.0]], np.float32)) == ValueSummary(False, 0.5, 2.0)
    assert summarise(np.array([[np.nan, 3.0, -1.0]], np.float32)) == ValueSummary(False, -1.0, 3.0)
    assert summarise(np.full((2, 2), np.nan, np.float32)) == ValueSummary(False, 0.0, 0.0)


def test_summary_is_recorded_for_the_memmap(demo: dict[str, Path], tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache")
    load_study_cached(demo["cxr-cr"], cache)
    image = load_study_cached(demo["cxr-cr"], cache).primary
    assert summary_of(image.pixels) == summarise(np.asarray(image.pixels))
    assert summary_of(np.asarray(image.pixels).copy()) is None  # not from a cache entry


def _png(path: Path, value: int) -> None:
    from PIL import Image as PILImage

    arr = np.full((16, 24), value, dtype=np.uint8)
    arr[3, 5] = 200
    PILImage.fromarray(arr).save(path)


def test_changed_source_is_read_again(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache")
    path = tmp_path / "x.png"
    _png(path, 10)
    load_study_cached(path, cache)
    assert float(load_study_cached(path, cache).primary.pixels[0, 0]) == 10.0
    _png(path, 77)  # same name, same size, new content
    again = load_study_cached(path, cache).primary
    assert float(again.pixels[0, 0]) == 77.0 and not isinstance(again.pixels, np.memmap)
    assert float(load_study_cached(path, cache).primary.pixels[0, 0]) == 77.0
    assert len(cache.entries()) == 2  # the old one is left to eviction


def test_truncated_or_half_written_entry_is_ignored_and_rewritten(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache")
    path = tmp_path / "x.png"
    _png(path, 10)
    load_study_cached(path, cache)
    key = source_digest(path)
    npy = cache.entry(key) / "0.npy"
    with npy.open("r+b") as fh:  # a killed copy or a full disk: the data stops short
        fh.truncate(npy.stat().st_size - 100)
    assert cache.get(key) is None and not cache.entry(key).exists()  # never used, removed
    study = load_study_cached(path, cache)  # read from the source again and rewritten
    assert float(study.primary.pixels[3, 5]) == 200.0
    assert cache.get(key) is not None
    (cache.entry(key) / "entry.json").write_text("{not json")
    assert cache.get(key) is None
    # a writer killed before its rename leaves only a dot-folder, which no reader looks at
    partial = cache.folder / f".tmp-{key}-1234-abcd"
    partial.mkdir()
    (partial / "0.npy").write_bytes(b"\x93NUMPY")
    assert cache.get(key) is None and cache.entries() == []
    os.utime(partial, (0, 0))
    load_study_cached(path, cache)  # the write sweeps stale temp folders
    assert not partial.exists() and len(cache.entries()) == 1


_WRITER = """
import sys
from pathlib import Path
import numpy as np
from viewer.io.pixel_cache import PixelCache
from viewer.records import Image
from viewer.planes import spl_affine
pixels = np.arange(40 * 64 * 64, dtype=np.float32).reshape(40, 64, 64)
image = Image(pixels, (1.0, 0.5, 0.5), spl_affine((1.0, 0.5, 0.5)), "CT", "MONOCHROME2", None, "x", "abc")
cache = PixelCache(Path(sys.argv[1]))
for _ in range(15):
    cache.put("same-key", "ct", [image])
"""


def test_two_processes_writing_one_entry_leave_one_valid_entry(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "c")], env=env,
                              stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    cache = PixelCache(tmp_path / "c")
    assert [key for _, _, key in cache.entries()] == ["same-key"]
    assert [p.name for p in cache.folder.iterdir()] == ["same-key"]  # no temp or trash left
    got = cache.get("same-key")
    assert got is not None
    expected = np.arange(40 * 64 * 64, dtype=np.float32).reshape(40, 64, 64)
    np.testing.assert_array_equal(got[1][0].pixels, expected)


def test_size_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    paths = []
    for n in range(3):
        paths.append(tmp_path / f"{n}.png")
        _png(paths[-1], 10 + n)
    cache = PixelCache(tmp_path / "cache", max_bytes=10**9)
    for p in paths:
        load_study_cached(p, cache)
    keys = [source_digest(p) for p in paths]
    size = {key: n for _, n, key in cache.entries()}  # the three entries differ in size (10², 11², 12² px)
    os.utime(cache.entry(keys[0]) / "entry.json", (1, 1))
    os.utime(cache.entry(keys[1]) / "entry.json", (2, 2))
    assert cache.get(keys[0]) is not None  # used again: now the most recent
    cache.max_bytes = size[keys[0]] + size[keys[2]]  # room for exactly two: the least recently used goes
    cache.evict()
    assert {key for _, _, key in cache.entries()} == {keys[0], keys[2]}
    cache.clear()
    assert cache.entries() == []


def test_cache_for_data_dir_and_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADREVIEW_PIXEL_CACHE_GB", "0.5")
    cache = cache_for(tmp_path)
    assert cache is not None and cache.root == tmp_path / "cache" / "pixels"
    assert cache.max_bytes == 500_000_000
    monkeypatch.setenv("RADREVIEW_PIXEL_CACHE", "off")
    assert cache_for(tmp_path) is None


def test_old_format_folders_are_dropped(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache")
    old = cache.root / "v0" / "k"
    old.mkdir(parents=True)
    (old / "entry.json").write_text(json.dumps({"format": 0}))
    path = tmp_path / "x.png"
    _png(path, 5)
    load_study_cached(path, cache)
    assert not (cache.root / "v0").exists()
