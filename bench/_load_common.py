"""What the in-process and the HTTP review loads share (:mod:`bench.load_review`, :mod:`bench._load_http`):
the load's size, the log of acknowledged actions, a drafted database to load, the stored rows, running the
reviewers at once and the throughput figures."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import percentile


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
class ActionLog:
    """Acknowledged actions with their latencies, and errors, appended from many reviewer threads."""

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


def stored_rows(db: Path) -> list[tuple[str, str, str]]:
    """``(case_id, finding_id, kind)`` of every stored review action."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT case_id, finding_id, kind FROM review_actions").fetchall()
    return [(str(c), str(f or ""), str(k)) for c, f, k in rows]


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile, ``nan`` when there are no values."""
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


def throughput(log: ActionLog, seconds: float) -> dict[str, Any]:
    """``actions``, ``seconds``, ``actions_per_s`` and the ``p50_s``/``p95_s`` latency of a load run."""
    return {
        "actions": len(log.acked),
        "seconds": seconds,
        "actions_per_s": len(log.acked) / seconds,
        "p50_s": pct(log.latencies, 50),
        "p95_s": pct(log.latencies, 95),
    }
