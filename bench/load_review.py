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
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import percentile, result


@dataclass(frozen=True)
class LoadConfig:
    """How big the simulated load is.

    Attributes:
        reviewers: Concurrent reviewer threads.
        cases_per_reviewer: Cases each reviewer works through (fewer if ``duration_s`` runs out).
        findings: Findings per drafted case.
        duration_s: Wall-clock bound; reviewers stop starting new cases after it.
    """

    reviewers: int = 8
    cases_per_reviewer: int = 3
    findings: int = 8
    duration_s: float = 20.0


@dataclass
class _Log:
    latencies: list[float] = field(default_factory=list)
    acked: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, case_id: str, finding_id: str, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.acked.append((case_id, finding_id, kind))


def _draft(case_id: str, n: int) -> Any:
    from inference.records import Draft, Finding, Provenance, Section

    findings = tuple(Finding(f"f{i}", "lungs", f"Finding {i} of {case_id}.") for i in range(n))
    prov = Provenance(generator="builtin", model_id="built-in", created_at="2026-11-23T12:00:00+00:00")
    return Draft(case_id, (Section("lungs", findings),), "Impression.", prov)


def make_services(root: Path, case_ids: list[str], findings: int) -> Any:
    """A fresh data dir + SQLite DB under ``root`` with the demo radiograph registered as each case of
    ``case_ids``, drafted with ``findings`` findings; returns the server-shaped ``Services``."""
    from app.callbacks.worklist import register
    from app.services import Services
    from storage.repository import Repository
    from viewer.demo import make_demo_studies
    from viewer.io import load_study

    png = make_demo_studies(root / "demo")["cxr-png"]
    data = root / "data"
    (data / "studies").mkdir(parents=True)
    dest = data / "studies" / png.name
    shutil.copyfile(png, dest)
    repo = Repository.open(f"sqlite:///{root / 'rr.db'}", data)
    svc = Services(repo=repo, data_dir=data, default_reviewer="r0")
    for case_id in case_ids:
        register(svc, dataclasses.replace(load_study(dest, case_id=case_id), indication="cough"), dest)
        repo.save_draft(_draft(case_id, findings))
    return svc


def review_case(svc: Any, reviewer: str, case_id: str, log: _Log) -> None:
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


def _reviewer(svc: Any, name: str, cases: list[str], deadline: float, log: _Log) -> None:
    for case_id in cases:
        if time.monotonic() > deadline:
            return
        try:
            review_case(svc, name, case_id, log)
        except Exception as exc:  # recorded and reported; the load goes on
            with log.lock:
                log.errors.append(f"{name} {case_id}: {type(exc).__name__}: {exc}")


def _stored(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT case_id, finding_id, kind FROM review_actions").fetchall()
    return [(str(c), str(f or ""), str(k)) for c, f, k in rows]


def _pct(values: list[float], q: float) -> float:
    return percentile(values, q) if values else float("nan")


def run_concurrently(target: Callable[..., None], arglists: Sequence[tuple[Any, ...]]) -> float:
    """Run ``target(*args)`` for every ``args`` in its own thread, all at once; wall seconds until all end."""
    threads = [threading.Thread(target=target, args=args) for args in arglists]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def throughput(log: _Log, seconds: float) -> dict[str, Any]:
    """``actions``, ``seconds``, ``actions_per_s`` and the ``p50_s``/``p95_s`` latency of a load run."""
    return {
        "actions": len(log.acked),
        "seconds": seconds,
        "actions_per_s": len(log.acked) / seconds,
        "p50_s": _pct(log.latencies, 50),
        "p95_s": _pct(log.latencies, 95),
    }


def run_load(config: LoadConfig = LoadConfig(), root: Path | None = None) -> dict[str, Any]:
    """Run the simulated reviewers and compare what they were told with what is stored.

    Returns:
        ``actions``, ``seconds``, ``actions_per_s``, ``p50_s``, ``p95_s`` (per acknowledged action),
        ``floor_p95_s`` (one reviewer alone, same run), ``lost``, ``duplicated``, ``errors`` (list),
        and the configuration.
    """
    with tempfile.TemporaryDirectory(prefix="radreview-load-") as tmp:
        base = root or Path(tmp)
        per = range(config.cases_per_reviewer)
        plan = {f"r{i}": [f"r{i}-c{j}" for j in per] for i in range(config.reviewers)}
        svc = make_services(base, ["solo"] + [c for cases in plan.values() for c in cases], config.findings)
        for name in ["solo", *plan]:
            svc.repo.add_reviewer(name)
        solo = _Log()
        review_case(svc, "solo", "solo", solo)  # the uncontended floor, also warms caches
        log, deadline = _Log(), time.monotonic() + config.duration_s
        args = [(svc, name, cases, deadline, log) for name, cases in plan.items()]
        seconds = run_concurrently(_reviewer, args)
        svc.repo.close()
        stored = [row for row in _stored(base / "rr.db") if row[0] != "solo"]
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
