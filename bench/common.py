"""Shared helpers for benchmarks: timing, the DESIGN §8 result shape and the headless browser."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium: the browser of the UI benchmark, the e2e tests and ``tools/screenshots.py``."""
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
)
"""Flags for headless Chromium on a machine with no outside network."""


def result(name: str, ours_s: float, floor_s: float, n: int, **params: Any) -> dict[str, Any]:
    """One benchmark measure as DESIGN §8 prints it.

    Args:
        name: What was measured, e.g. ``load.series_300x512x512``.
        ours_s: Our time in seconds (a median or percentile, stated in ``params``).
        floor_s: The same-run floor in seconds.
        n: Number of repetitions behind the figure.
        **params: Anything needed to interpret it (statistic, sizes, machine).
    """
    ratio = ours_s / floor_s if floor_s > 0 else float("inf")
    return {"name": name, "ours_s": ours_s, "floor_s": floor_s, "ratio": ratio, "n": n, "params": params}


def time_calls(fn: Callable[[], Any], n: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``n`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return ordered[0] if q <= 0 else ordered[-1] if q >= 100 else cuts[int(q) - 1]
