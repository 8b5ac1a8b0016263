"""Load test (short CI configuration): 8 simulated reviewers doing the review loop against one shared
``Services``/repository; every acknowledged action is stored exactly once."""

from __future__ import annotations

from bench._load_common import LoadConfig
from bench.load_review import run_load


def test_eight_reviewers_lose_nothing_and_stay_responsive() -> None:
    config = LoadConfig(reviewers=8, cases_per_reviewer=3, findings=8, duration_s=25)
    m = run_load(config)
    print({k: v for k, v in m.items() if k != "errors"})  # shown with -s: the figures of this run
    assert m["errors"] == []
    assert m["actions"] == 8 * 3 * (8 + 2)  # every finding and the impression decided, every case signed
    assert (m["lost"], m["duplicated"], m["unacknowledged_stored"]) == (0, 0, 0)
    assert m["p95_s"] < 5.0  # generous: the shared 2-core CI machine; typical p95 is ~0.1–0.3 s
    assert m["actions_per_s"] > 5


def test_duration_bound_stops_reviewers_before_new_cases() -> None:
    m = run_load(LoadConfig(reviewers=2, cases_per_reviewer=50, findings=2, duration_s=0.0))
    assert m["actions"] == 0 and m["lost"] == 0 and m["errors"] == []
