"""Shared helpers for benchmarks: timing, the DESIGN §8 result shape, the headless browser and a real
``radreview serve`` subprocess (also what the e2e, security and fault tests start)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
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


def radreview_script() -> str:
    """The installed ``radreview`` console script next to this interpreter."""
    return str(Path(sys.executable).parent / "radreview")


def serve_command(*args: str) -> list[str]:
    """``python -m app.cli serve ARGS`` with this interpreter (the checkout's code, not an installed one)."""
    return [sys.executable, "-m", "app.cli", "serve", *args]


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server; SIGKILL it when it has not exited 30 s later (an open client stream)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"radreview serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"radreview serve not healthy in {seconds:.0f} s: {log.read_text()[-2000:]}")


def start_server(
    cmd: list[str], port: int, log: Path, env: Mapping[str, str], seconds: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``cmd`` (a ``radreview serve`` on loopback ``port``, output to ``log``) and wait until its
    ``/healthz`` answers 200; returns the process and its URL.

    Raises:
        RuntimeError: It exited or was not healthy within ``seconds`` (it is stopped), with the log's tail.
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(env))
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log, seconds)
    except RuntimeError:
        stop_server(proc)
        raise
    return proc, url


@contextmanager
def running_server(
    cmd: list[str], port: int, log: Path, env: Mapping[str, str], seconds: float = 120.0
) -> Iterator[str]:
    """:func:`start_server`, yielding the URL, and :func:`stop_server` on the way out."""
    proc, url = start_server(cmd, port, log, env, seconds)
    try:
        yield url
    finally:
        stop_server(proc)
