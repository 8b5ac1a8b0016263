"""A real ``radreview serve`` subprocess for the tests that need one (e2e, security, fault): the command,
the wait until ``/healthz`` answers, and the stop afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def serve_command(*args: str) -> list[str]:
    """``python -m app.cli serve ARGS`` with this interpreter (the checkout's code, not an installed one)."""
    return [sys.executable, "-m", "app.cli", "serve", *args]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Return once ``url/healthz`` answers 200.

    Raises:
        RuntimeError: The server exited, or did not answer within ``seconds``; with the log's tail.
    """
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
    raise RuntimeError(f"radreview serve not healthy after {seconds:.0f} s: {log.read_text()[-2000:]}")


@contextmanager
def running(
    cmd: list[str], port: int, log: Path, env: Mapping[str, str], seconds: float = 120.0
) -> Iterator[str]:
    """Run ``cmd`` (a ``radreview serve`` on ``port``, output to ``log``), yield its URL once healthy, and
    stop it (SIGTERM, SIGKILL after 30 s) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(env))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log, seconds)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
