"""Load over loopback HTTP: reviewers as ``gradio_client`` sessions against one real ``radreview serve``;
every acknowledged action is stored exactly once. Run with ``RADREVIEW_SLOW=1``."""

from __future__ import annotations

import pytest

from bench._load_common import LoadConfig
from bench._load_http import run_http_load


@pytest.mark.slow  # ~40 s on the shared 2-core machine, mostly server start; the fast variant is test_load.py
def test_http_reviewers_against_one_server_lose_nothing() -> None:
    config = LoadConfig(reviewers=4, cases_per_reviewer=1, findings=3, duration_s=60)
    m = run_http_load(config)
    print({k: v for k, v in m.items() if k != "errors"})  # shown with -s: the figures of this run
    assert m["errors"] == []
    assert m["actions"] == 4 * 1 * (3 + 2)  # each finding, the impression, the signature
    assert (m["lost"], m["duplicated"], m["unacknowledged_stored"]) == (0, 0, 0)
    assert m["p95_s"] < 20.0  # generous: the shared 2-core CI machine; typical p95 is ~1–2 s
    assert m["floor_p95_s"] > 0 and m["accept_p95_s"] > 0  # the accept and its same-run /ping floor
