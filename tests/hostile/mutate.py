"""Seeded hostile-input generators: mutations of real files and hand-built malicious files."""

from __future__ import annotations

import random
from pathlib import Path

import pydicom

PYDICOM_TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def pydicom_seed_files(limit_bytes: int = 600_000) -> list[Path]:
    """pydicom's bundled test files (read from the installed package, never downloaded)."""
    files = sorted(p for p in PYDICOM_TEST_FILES.rglob("*")
                   if p.is_file() and p.stat().st_size <= limit_bytes)
    return [p for p in files if p.suffix.lower() in {".dcm", ""} or "dcm" in p.name.lower()]


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of ``data``: truncation, bit flips or a duplicated byte range."""
    kind = rng.choice(("truncate", "bitflip", "duplicate"))
    n = len(data)
    if n < 4:
        return "short", data
    if kind == "truncate":
        return kind, data[: rng.randrange(1, n)]
    if kind == "bitflip":
        buf = bytearray(data)
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        return kind, bytes(buf)
    start = rng.randrange(n)
    end = min(n, start + rng.randint(1, 4096))
    return kind, data[:end] + data[start:end] + data[end:]
