"""The render cache: LRU order, byte cap, hits on repeat, keys that change with what is drawn."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.cache import LruCache, figure_cache, figure_cached, figure_size, render_key
from viewer.overlay import MaskLayer, Overlays
from viewer.planes import spl_affine
from viewer.presets import Window
from viewer.records import Image


@pytest.fixture(scope="module")
def volume() -> Image:
    rng = np.random.default_rng(1)
    pixels = rng.normal(0.0, 200.0, size=(8, 64, 64)).astype(np.float32)
    return Image(
        pixels=pixels,
        spacing_mm=(2.0, 1.0, 1.0),
        affine=spl_affine((2.0, 1.0, 1.0)),
        modality="CT",
        photometric="MONOCHROME2",
        default_window=None,
        source="noise",
        sha256="a" * 64,
    )


def test_lru_evicts_least_recently_used_to_stay_under_the_cap() -> None:
    cache: LruCache[bytes] = LruCache(max_mb=1.0, size_of=len)
    for key in "abc":
        cache.put(key, b"x" * 400_000)
    assert len(cache) == 2 and cache.get("a") is None  # 1.2 MB > 1 MB: "a" went
    assert cache.get("b") is not None  # "b" is now the most recent
    cache.put("d", b"y" * 400_000)
    assert cache.get("c") is None and cache.get("b") is not None
    assert cache.nbytes == 800_000 and cache.stats.evictions == 2


def test_oversized_values_are_returned_but_not_stored() -> None:
    cache: LruCache[bytes] = LruCache(max_mb=0.001, size_of=len)
    assert cache.get_or_create("big", lambda: b"z" * 5000) == b"z" * 5000
    assert len(cache) == 0 and cache.nbytes == 0


def test_drop_forgets_one_key_and_its_bytes() -> None:
    cache: LruCache[bytes] = LruCache(max_mb=1.0, size_of=len)
    cache.put("a", b"x" * 300)
    cache.put("b", b"y" * 200)
    cache.drop("a")
    cache.drop("never stored")  # no error
    assert cache.get("a") is None and cache.get("b") == b"y" * 200 and cache.nbytes == 200


def test_bad_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="max_mb=0"):
        LruCache(max_mb=0, size_of=len)
    with pytest.raises(ValueError, match="max_items=0"):
        LruCache(max_items=0)
    with pytest.raises(ValueError, match="max_mb with size_of, or max_items"):
        LruCache(max_mb=1.0, size_of=len, max_items=3)
    with pytest.raises(ValueError, match="max_mb with size_of, or max_items"):
        LruCache(max_mb=1.0)


def test_lru_bounded_by_entries_keeps_the_most_recent() -> None:
    cache: LruCache[int | None] = LruCache(max_items=2)
    for key, value in (("a", 1), ("b", None), ("c", 3)):
        cache.put(key, value)
    assert len(cache) == 2 and cache.get("a") is None and cache.stats.evictions == 1
    calls: list[str] = []
    assert cache.get_or_create("b", lambda: calls.append("b")) is None  # a stored None is a hit
    assert calls == [] and cache.stats.hits == 1
    cache.put("d", 4)  # "b" was used last: "c" goes
    assert cache.get("c") is None and cache.get("b") is None and cache.get("d") == 4
    assert len(cache) == 2


def test_figure_cache_hits_on_repeat(volume: Image) -> None:
    cache = figure_cache(max_mb=64)
    first = figure_cached(cache, volume, "coronal", 10)
    again = figure_cached(cache, volume, "coronal", 10)
    assert again is first
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)
    assert figure_cached(cache, volume, "coronal", 11) is not first
    assert figure_cached(cache, volume, "coronal", 10, window=Window(-600, 1500)) is not first
    assert cache.stats.misses == 3


def test_overlay_state_is_part_of_the_key(volume: Image) -> None:
    mask = np.zeros(volume.shape, bool)
    mask[:, 10:20, 10:20] = True
    shown = Overlays(masks=MaskLayer.from_masks({"heart": mask}, ref="m1"))
    hidden = Overlays(masks=MaskLayer.from_masks({"heart": mask}, ref="m1", visible=False))
    assert render_key(volume, "axial", 3, None, shown) != render_key(volume, "axial", 3, None, hidden)
    assert render_key(volume, "axial", 3, None, shown) == render_key(
        volume, "axial", 3, None, Overlays(masks=MaskLayer.from_masks({"heart": mask}, ref="m1"))
    )


def test_memory_stays_bounded_while_scrolling(volume: Image) -> None:
    one = figure_size(figure_cached(figure_cache(), volume, "axial", 0))
    cache = figure_cache(max_mb=2.5 * one / 1e6)
    for index in range(8):
        figure_cached(cache, volume, "axial", index)
    assert len(cache) == 2 and cache.nbytes <= cache.max_bytes


def test_drop_forgets_one_key_and_its_size() -> None:
    cache: LruCache[bytes] = LruCache(1.0, len)
    cache.put("a", b"x" * 10)
    cache.put("b", b"y" * 5)
    cache.drop("a")
    cache.drop("missing")  # no error
    assert cache.get("a") is None and cache.get("b") == b"y" * 5
    assert cache.nbytes == 5
