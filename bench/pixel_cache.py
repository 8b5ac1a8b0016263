"""Cold ``Services.study()`` with and without the decoded-pixel cache (``python -m bench.pixel_cache``).

One run writes the ``bench ui`` synthetic 300×512×512 CT as a gzip NIfTI, registers it (which warms
the cache), then alternates, ``rounds`` times, on the same machine state:

* ``study.cold_source`` — ``Services.study()`` with an empty in-memory study cache and
  ``RADREVIEW_PIXEL_CACHE=0``: the NIfTI is read and decoded (before the cache);
* ``study.cold_cached`` — the same with the cache on: source hash + memory-mapped ``.npy`` (after);
* ``study.first_slice_cached`` — that plus what the first-slice route does (the wire dtype from the
  recorded summary, slice ``k`` converted and gzip-1 encoded);
* floor — ``np.load`` of the entry's ``.npy`` without ``mmap_mode``: reading every decoded byte;
* ``study.source_hash`` — the sha256 of the source alone (the part of a cached open that grows with the
  source size).

Figures are medians over the rounds; every row's floor is the same run's ``np.load`` median.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import result


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[dict[str, Any]]:
    """``radreview bench pixel_cache``: :func:`measure` at full size, or small with ``quick``."""
    return measure(rounds=2 if quick else 3, shape=(80, 256, 256) if quick else (300, 512, 512))


def measure(rounds: int = 3, shape: tuple[int, int, int] = (300, 512, 512)) -> list[dict[str, Any]]:
    """Alternate the four measures ``rounds`` times; medians against the ``np.load`` floor."""
    from app.pixels import pixel_slice, stored_for
    from bench._ui_study import CASE, _prepare, synthetic_ct
    from viewer.cache import LruCache
    from viewer.io.pixel_cache import cache_for, source_digest

    hu = synthetic_ct(shape)
    times: dict[str, list[float]] = {k: [] for k in ("source", "cached", "first_slice", "floor", "hash")}
    with tempfile.TemporaryDirectory(prefix="radreview-bench-cache-") as tmp:
        services = _prepare(Path(tmp), hu)
        path = services.data_dir / services.record(CASE).data_path
        cache = cache_for(services.data_dir)
        if cache is None:
            raise RuntimeError("RADREVIEW_PIXEL_CACHE is off: unset it to run this benchmark")
        npy = cache.entry(source_digest(path)) / "0.npy"
        sizes_mb = {"source_mb": path.stat().st_size / 1e6, "npy_mb": npy.stat().st_size / 1e6}
        k = shape[0] // 2

        sha = services.study(CASE).primary.sha256

        def cold(env: str) -> Any:
            os.environ["RADREVIEW_PIXEL_CACHE"] = env
            services.studies.drop(CASE)
            services.artefacts.drop(("rr-stored", sha, shape))
            return services.study(CASE)

        try:
            for _ in range(rounds):
                times["source"].append(_timed(lambda: cold("0")))
                times["cached"].append(_timed(lambda: cold("1")))
                times["first_slice"].append(_timed(lambda: (
                    cold("1"), pixel_slice(services, LruCache[bytes](max_items=4), CASE, 0, k))))
                times["floor"].append(_timed(lambda: np.load(npy)))
                times["hash"].append(_timed(lambda: source_digest(path)))
        finally:
            os.environ.pop("RADREVIEW_PIXEL_CACHE", None)
        assert stored_for(services, services.study(CASE).primary).dtype == "int16"
        services.repo.close()
    med = {key: statistics.median(v) for key, v in times.items()}
    common = {"shape": list(shape), "statistic": "median", "floor": "np.load of the .npy (no mmap)",
              "source": "gzip NIfTI (level 1)", **sizes_mb}
    return [
        result("study.cold_source", med["source"], med["floor"], rounds, **common, all_s=times["source"]),
        result("study.cold_cached", med["cached"], med["floor"], rounds, **common, all_s=times["cached"]),
        result("study.first_slice_cached", med["first_slice"], med["floor"], rounds, **common,
               all_s=times["first_slice"]),
        result("study.source_hash", med["hash"], med["floor"], rounds, **common, all_s=times["hash"]),
        result("study.floor_npy_load", med["floor"], med["floor"], rounds, **common, all_s=times["floor"]),
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
