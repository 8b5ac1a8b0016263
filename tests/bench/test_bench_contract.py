"""Every benchmark module keeps the contract ``radreview bench`` calls: ``run(quick: bool) -> list``.

(A module whose ``run`` took other arguments made ``radreview bench all`` fail at that module.)
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from bench.command import available


@pytest.mark.parametrize("name", available())
def test_run_takes_quick_and_nothing_required_else(name: str) -> None:
    run = importlib.import_module(f"bench.{name}").run
    params = inspect.signature(run).parameters
    assert "quick" in params, f"bench.{name}.run has no 'quick' parameter"
    required = [p.name for p in params.values() if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    assert required == [], f"bench.{name}.run requires {required}"


def test_pixel_cache_quick_runs_and_reports_against_its_floor() -> None:
    rows = importlib.import_module("bench.pixel_cache").run(quick=True)
    names = {r["name"] for r in rows}
    assert {"study.cold_cached", "study.floor_npy_load"} <= names
    assert all(r["floor_s"] > 0 and r["ours_s"] > 0 for r in rows)
