"""A bounded LRU cache for rendered planes, so scrolling back and forth costs nothing.

Keys are ``RenderKey`` records: (study sha256, plane, index, window, overlay state); values are whatever
the caller renders (normally a plotly figure) with a size estimate in bytes. The cache evicts least
recently used entries until the total estimated size is under ``max_mb``. It is an ordinary object:
create one per app (or per session) and pass it in; nothing is global. It is not thread-safe by itself;
``figure_cached`` takes a lock so concurrent Gradio callbacks can share one cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from viewer.overlay import Overlays
from viewer.presets import Window
from viewer.records import Image

if TYPE_CHECKING:
    import plotly.graph_objects as go

V = TypeVar("V")


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
    """Least-recently-used cache bounded by the estimated size of its values.

    Args:
        max_mb: Capacity in megabytes (10⁶ bytes); an entry larger than this is returned but not stored.
        size_of: Estimated size of a value in bytes.
    """

    def __init__(self, max_mb: float, size_of: Callable[[V], int]) -> None:
        if max_mb <= 0:
            raise ValueError(f"cache capacity max_mb={max_mb} must be > 0")
        self.max_bytes = int(max_mb * 1_000_000)
        self._size_of = size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self.stats = CacheStats()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Estimated bytes held."""
        return self._bytes

    def get(self, key: Hashable) -> V | None:
        """The cached value (now most recently used), or ``None``."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.stats.misses += 1
                return None
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
        """The cached value, or ``create()`` stored under ``key``."""
        value = self.get(key)
        if value is None:
            value = create()
            self.put(key, value)
        return value

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
