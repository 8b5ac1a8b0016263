"""The README performance table is rendered from bench JSON lines."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.common import result
from bench.report import table


def test_table_has_ratio_floor_date_and_skips() -> None:
    rows = [result("render.axial_p95", 0.030, 0.010, 50, stat="p95"),
            {"name": "generate.4bit", "ours_s": None, "floor_s": None, "ratio": None, "n": 0,
             "params": {"skipped": "needs CUDA"}}]
    text = table(rows, when=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    assert text.startswith("Measured 2026-11-23 15:00 UTC on ")
    assert "| `render.axial_p95` | 30.00 ms | 10.00 ms | 3.00× | 50 | stat=p95 |" in text
    assert "| `generate.4bit` | — | — | skipped | 0 | skipped=needs CUDA |" in text
