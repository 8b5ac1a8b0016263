"""The one bounded LRU cache of the project, and its use for rendered planes.

:class:`LruCache` is bounded either by the estimated size of its values (``max_mb`` with ``size_of``:
rendered figures) or by a number of entries (``max_items``: the app's loaded studies and artefacts,
the repository's drafts and review states). It is an ordinary object: create one per app (or per
session) and pass it in; nothing is global. Its operations take its own lock, so concurrent Gradio
callbacks can share one.

For figures, keys are ``RenderKey`` records: (study sha256, plane, index, window, overlay state); values
are plotly figures with a size estimate in bytes, so scrolling back and forth costs nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from viewer.overlay import Overlays
    from viewer.presets import Window
    from viewer.records import Image

V = TypeVar("V")
_MISSING = object()


def _one_entry(value: object) -> int:
    return 1


@dataclass(frozen=True)
class RenderKey:
    """What determines one rendered plane."""

    study_sha256: str
    plane: str
    index: int
    window: tuple[float, float, str] | None
    overlay_state: Hashable


@dataclass
class CacheStats:
    """Counters since the cache was created."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0


class LruCache(Generic[V]):
    """Least-recently-used cache bounded by the estimated size of its values, or by their number.

    Args:
        max_mb: Capacity in megabytes (10⁶ bytes); an entry larger than this is returned but not stored.
        size_of: Estimated size of a value in bytes (with ``max_mb``).
        max_items: Instead of ``max_mb``: the number of entries kept.

    Raises:
        ValueError: Neither or both bounds given, or a bound ≤ 0.
    """

    def __init__(self, max_mb: float | None = None, size_of: Callable[[V], int] | None = None, *,
                 max_items: int | None = None) -> None:
        if (max_mb is None) == (max_items is None) or (max_mb is None) != (size_of is None):
            raise ValueError("an LruCache takes max_mb with size_of, or max_items")
        if max_items is not None and max_items <= 0:
            raise ValueError(f"cache capacity max_items={max_items} must be > 0")
        if max_mb is not None and max_mb <= 0:
            raise ValueError(f"cache capacity max_mb={max_mb} must be > 0")
        self.max_bytes = max_items if max_items is not None else int((max_mb or 0) * 1_000_000)
        """The capacity in ``size_of`` units: bytes, or entries with ``max_items``."""
        self._size_of: Callable[[V], int] = size_of or _one_entry
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self.stats = CacheStats()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Estimated bytes held (with ``max_items``: entries held)."""
        return self._bytes

    def get(self, key: Hashable) -> V | None:
        """The cached value (now most recently used), or ``None``."""
        value = self._lookup(key)
        return None if value is _MISSING else cast(V, value)

    def _lookup(self, key: Hashable) -> V | object:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.stats.misses += 1
                return _MISSING
            self._items.move_to_end(key)
            self.stats.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: V) -> None:
        """Store a value, evicting least recently used entries to stay under the cap."""
        size = self._size_of(value)
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted
                self.stats.evictions += 1

    def get_or_create(self, key: Hashable, create: Callable[[], V]) -> V:
        """The cached value, or ``create()`` stored under ``key`` (``create`` runs outside the lock)."""
        value = self._lookup(key)
        if value is _MISSING:
            created = create()
            self.put(key, created)
            return created
        return cast(V, value)

    def drop(self, key: Hashable) -> None:
        """Forget ``key`` if present (e.g. after the value it stands for changed)."""
        with self._lock:
            entry = self._items.pop(key, None)
            if entry is not None:
                self._bytes -= entry[1]

    def clear(self) -> None:
        """Drop everything (counters are kept)."""
        with self._lock:
            self._items.clear()
            self._bytes = 0


def figure_size(fig: go.Figure) -> int:
    """Estimated bytes of a figure from ``viewer.figure``: its PNG source plus hover grid plus overhead."""
    total = 20_000
    for trace in fig.data:
        source = getattr(trace, "source", None)
        if isinstance(source, str):
            total += len(source)
        z = getattr(trace, "z", None)
        if z is not None and hasattr(z, "nbytes"):
            total += int(z.nbytes)
    return total


def figure_cache(max_mb: float = 256.0) -> LruCache[go.Figure]:
    """An LRU cache for figures, capped at ``max_mb`` (default 256 MB ≈ 1,000+ slices with overlays)."""
    return LruCache(max_mb, figure_size)


def render_key(image: Image, plane: str, index: int, window: Window | None,
               overlays: Overlays | None) -> RenderKey:
    """The cache key of one figure (the overlay arrays enter through their content refs)."""
    state = overlays.state() if overlays is not None else None
    return RenderKey(image.sha256, plane if image.is_volume else "image", int(index),
                     window.key if window is not None else None, state)


def figure_cached(cache: LruCache[go.Figure], image: Image, plane: str = "axial", index: int | None = None,
                  *, window: Window | None = None, overlays: Overlays | None = None) -> go.Figure:
    """``viewer.figure.figure`` through the cache. Treat the returned figure as read-only: it is shared.

    Raises:
        ValueError: As ``figure`` does.
    """
    from viewer.figure import figure

    if index is None:
        normal = {"axial": 0, "coronal": 1, "sagittal": 2}.get(plane, 0)
        index = image.shape[normal] // 2 if image.is_volume else 0
    key = render_key(image, plane, index, window, overlays)
    return cache.get_or_create(key, lambda: figure(image, plane, index, window=window, overlays=overlays))
