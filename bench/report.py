"""Render ``radreview bench ... --json`` output as the README's performance table.

Usage: ``radreview bench all --json > bench.jsonl && python -m bench.report bench.jsonl``. Every figure is
our time beside the floor measured in the same run (DESIGN §8); the table states the date and machine.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1e3:.2f} ms"


def _note(params: dict[str, Any]) -> str:
    keep = {k: v for k, v in params.items() if isinstance(v, (int, float, str)) and len(str(v)) < 40}
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in keep.items())


def machine() -> str:
    """One line describing this machine (CPU count, processor, Python)."""
    cpu = platform.processor() or platform.machine()
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores {cpu}, {system}, Python {platform.python_version()}"


def table(measures: Iterable[dict[str, Any]], *, when: datetime | None = None) -> str:
    """A markdown table of measures (each a DESIGN §8 object)."""
    when = when or datetime.now(UTC)
    lines = [f"Measured {when:%Y-%m-%d %H:%M} UTC on {machine()}.", "",
             "| measure | ours | floor (same run) | ratio | n | details |", "|---|---|---|---|---|---|"]
    for m in measures:
        ratio = "skipped" if m.get("ours_s") is None else f"{m['ratio']:.2f}×"
        lines.append(f"| `{m['name']}` | {_ms(m.get('ours_s'))} | {_ms(m.get('floor_s'))} | {ratio} | "
                     f"{m.get('n', '')} | {_note(m.get('params', {}))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table for the JSON lines in the given file (or stdin)."""
    args = argv if argv is not None else sys.argv[1:]
    text = Path(args[0]).read_text() if args else sys.stdin.read()
    print(table(json.loads(line) for line in text.splitlines() if line.startswith("{")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
