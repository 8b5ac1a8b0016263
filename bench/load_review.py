"""``radreview bench load_review``: N simulated reviewers doing the review loop against one server's
``Services`` (one repository, one SQLite file), with the acknowledged actions checked against the rows.

Each reviewer is a thread running what one Gradio worker thread runs for a reviewer (the server serves
sync callbacks from a thread pool over one shared :class:`app.services.Services`): open a case (load the
study, derive the review state), then for every finding accept / edit / reject it through
:func:`app.callbacks.review.decide`, then sign. An action counts as *acknowledged* when the callback
returned — that is when the page would show it. Afterwards every acknowledged action must be a row of
``review_actions`` exactly once (``lost`` and ``duplicated`` must be 0).

The HTTP/Gradio layer is not in the loop (its cost is the empty-callback floor of ``bench ui``); this
measures what many reviewers do to the one thing they share, the database.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._load_common import (
    ActionLog,
    LoadConfig,
    make_services,
    run_concurrently,
    stored_rows,
    throughput,
)
from bench.common import percentile, result


def review_case(svc: Any, reviewer: str, case_id: str, log: ActionLog) -> None:
    """One review loop: open the case, decide every finding (accept, edit, reject in turn), sign."""
    from app.callbacks import review

    svc.study(case_id)
    state = review.require_state(svc, case_id)
    for i, item in enumerate(state.findings):
        fid, kind = item.finding.id, ("accept", "edit", "reject")[i % 3]
        decision = review.Decision(
            None if kind == "accept" else "false_finding" if kind == "reject" else "wrong_severity",
            shown_at=review.now_iso(),
        )
        start = time.perf_counter()
        review.decide(svc, reviewer, case_id, fid, kind, decision, text=f"{item.finding.text} (edited)")
        log.ack(case_id, fid, kind, time.perf_counter() - start)
    start = time.perf_counter()
    review.decide_impression(svc, reviewer, case_id, "accept", review.Decision())
    log.ack(case_id, "@impression", "accept", time.perf_counter() - start)
    start = time.perf_counter()
    review.sign(svc, reviewer, case_id)
    log.ack(case_id, "", "sign", time.perf_counter() - start)


def _reviewer(svc: Any, name: str, cases: list[str], deadline: float, log: ActionLog) -> None:
    for case_id in cases:
        if time.monotonic() > deadline:
            return
        try:
            review_case(svc, name, case_id, log)
        except Exception as exc:  # recorded and reported; the load goes on
            with log.lock:
                log.errors.append(f"{name} {case_id}: {type(exc).__name__}: {exc}")


def run_load(config: LoadConfig | None = None, root: Path | None = None) -> dict[str, Any]:
    """Run the simulated reviewers and compare what they were told with what is stored.

    Returns:
        ``actions``, ``seconds``, ``actions_per_s``, ``p50_s``, ``p95_s`` (per acknowledged action),
        ``floor_p95_s`` (one reviewer alone, same run), ``lost``, ``duplicated``, ``errors`` (list),
        and the configuration.
    """
    config = config or LoadConfig()
    with tempfile.TemporaryDirectory(prefix="radreview-load-") as tmp:
        base = root or Path(tmp)
        per = range(config.cases_per_reviewer)
        plan = {f"r{i}": [f"r{i}-c{j}" for j in per] for i in range(config.reviewers)}
        svc = make_services(base, ["solo"] + [c for cases in plan.values() for c in cases], config.findings)
        for name in ["solo", *plan]:
            svc.repo.add_reviewer(name)
        solo = ActionLog()
        review_case(svc, "solo", "solo", solo)  # the uncontended floor, also warms caches
        log, deadline = ActionLog(), time.monotonic() + config.duration_s
        args = [(svc, name, cases, deadline, log) for name, cases in plan.items()]
        seconds = run_concurrently(_reviewer, args)
        svc.repo.close()
        stored = [row for row in stored_rows(base / "rr.db") if row[0] != "solo"]
        return {
            **throughput(log, seconds),
            "floor_p95_s": percentile(solo.latencies, 95),
            "lost": len(set(log.acked) - set(stored)),
            "duplicated": len(stored) - len(set(stored)),
            "unacknowledged_stored": len(set(stored) - set(log.acked)),
            "errors": log.errors,
            "config": dataclasses.asdict(config),
        }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """``radreview bench load_review``: p95 per review action under N reviewers vs one reviewer alone."""
    config = LoadConfig(
        reviewers=8, cases_per_reviewer=2 if quick else 6, findings=8, duration_s=20 if quick else 120
    )
    m = run_load(config)
    return [
        result(
            "load_review.action_p95",
            m["p95_s"],
            m["floor_p95_s"],
            m["actions"],
            statistic="p95 per acknowledged action; floor: one reviewer alone, same run",
            reviewers=config.reviewers,
            actions_per_s=round(m["actions_per_s"], 1),
            p50_s=m["p50_s"],
            lost=m["lost"],
            duplicated=m["duplicated"],
            errors=len(m["errors"]),
        )
    ]


if __name__ == "__main__":  # python -m bench.load_review: the HTTP decision measure and the server cost
    import json

    from bench._load_http import decision_cost, run_http

    print(json.dumps(run_http()))
    print(json.dumps(decision_cost()))
