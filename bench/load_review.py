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
        threads = [
            threading.Thread(target=_reviewer, args=(svc, name, cases, deadline, log))
            for name, cases in plan.items()
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
        svc.repo.close()
        stored = [row for row in _stored(base / "rr.db") if row[0] != "solo"]
        return {
            "actions": len(log.acked),
            "seconds": seconds,
            "actions_per_s": len(log.acked) / seconds,
            "p50_s": _pct(log.latencies, 50),
            "p95_s": _pct(log.latencies, 95),
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


def _serve(root: Path, data: Path) -> tuple[Any, str]:
    """Start ``radreview serve`` on a free loopback port over ``root/rr.db``; returns (process, url)."""
    import os
    import subprocess
    import sys
    import urllib.request

    from app.server import free_port

    port, log = free_port(), root / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(root / "gradio-tmp")}
    cmd = [str(Path(sys.executable).parent / "radreview"), "serve", "--port", str(port)]
    cmd += ["--data-dir", str(data), "--db", f"sqlite:///{root / 'rr.db'}"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"radreview serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"radreview serve not healthy in 90 s: {log.read_text()[-2000:]}")


def _api(client: Any, *names: str, required: bool = True) -> str:
    """The first of ``names`` the server offers (the endpoint names changed with the one-screen layout:
    ``/accept`` now, ``/decide`` before), so the same command measures before and after."""
    offered = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    for name in names:
        if name in offered:
            return name
    if not required:
        return ""
    raise RuntimeError(f"the server offers none of {names}; it has {sorted(offered)}")


def _args(client: Any, api: str, **values: Any) -> dict[str, Any]:
    """``values`` restricted to the parameters ``api`` takes (``grounding`` and ``seq`` are new)."""
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"][api]["parameters"]
    names = {p["parameter_name"] for p in params}
    return {k: v for k, v in values.items() if k in names}


def _http_reviewer(
    url: str, cases: list[str], findings: int, deadline: float, log: _Log, floor: _Log
) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)  # one Gradio session = one reviewer's browser tab
    accept, opener = _api(client, "/accept", "/decide"), _api(client, "/open_case")
    impression = _api(client, "/accept_impression", required=False)  # signing needs it (issue 13)
    values = _args(
        client, accept, seq="0", text="", reason=None, significant=False, comment="", grounding=None
    )
    for case_id in cases:
        if time.monotonic() > deadline:
            return
        try:
            client.predict(case_id=case_id, api_name=opener)
            for i in range(findings):  # the server selects the next pending finding after each one
                start = time.perf_counter()
                client.predict(**values, api_name=accept)
                log.ack(case_id, f"#{i}", "accept", time.perf_counter() - start)
                start = time.perf_counter()  # the floor: an empty callback, same session, same load
                client.predict(counter="0", api_name="/ping")
                floor.ack(case_id, f"#{i}", "ping", time.perf_counter() - start)
            if impression:
                args = _args(client, impression, seq="0", text="", reason=None, significant=False, comment="")
                start = time.perf_counter()
                client.predict(**args, api_name=impression)
                log.ack(case_id, "@impression", "accept_impression", time.perf_counter() - start)
            start = time.perf_counter()
            client.predict(api_name="/sign")
            log.ack(case_id, "", "sign", time.perf_counter() - start)
        except Exception as exc:  # recorded and reported; the load goes on
            with log.lock:
                log.errors.append(f"{case_id}: {type(exc).__name__}: {exc}")


def _stop(proc: Any) -> None:
    """SIGTERM the server; SIGKILL it when it has not exited 30 s later (an open client stream)."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def run_http_load(config: LoadConfig = LoadConfig(), root: Path | None = None) -> dict[str, Any]:
    """Like :func:`run_load`, but every reviewer is a ``gradio_client`` session against one real
    ``radreview serve`` over loopback HTTP (Gradio's queue API: ``/open_case``, ``/accept``, ``/sign``).

    After every accept the same session calls ``/ping`` (an empty callback: counter + 1), so the floor
    is an empty round trip through the same server under the same load, measured in the same run.

    Returns:
        The same keys as :func:`run_load`, plus ``accept_p50_s``/``accept_p95_s`` (accepts only) and
        ``floor_p50_s``/``floor_p95_s`` (the empty callback); ``lost``/``duplicated`` compare, per
        case, the acknowledged count with the stored rows.
    """
    with tempfile.TemporaryDirectory(prefix="radreview-http-load-") as tmp:
        base = root or Path(tmp)
        plan = [[f"r{i}-c{j}" for j in range(config.cases_per_reviewer)] for i in range(config.reviewers)]
        svc = make_services(base, [c for cases in plan for c in cases], config.findings)
        svc.repo.close()
        proc, url = _serve(base, svc.data_dir)
        try:
            log, floor, deadline = _Log(), _Log(), time.monotonic() + config.duration_s
            args = [(url, cases, config.findings, deadline, log, floor) for cases in plan]
            threads = [threading.Thread(target=_http_reviewer, args=a) for a in args]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start
        finally:
            _stop(proc)
        stored = _stored(base / "rr.db")
        accepts = [t for t, a in zip(log.latencies, log.acked, strict=True) if a[2] == "accept"]
        acked = {c: sum(1 for a in log.acked if a[0] == c) for c in {a[0] for a in log.acked}}
        rows = {c: sum(1 for s in stored if s[0] == c) for c in {s[0] for s in stored}}
        return {
            "actions": len(log.acked),
            "seconds": seconds,
            "actions_per_s": len(log.acked) / seconds,
            "p50_s": _pct(log.latencies, 50),
            "p95_s": _pct(log.latencies, 95),
            "accept_p50_s": _pct(accepts, 50),
            "accept_p95_s": _pct(accepts, 95),
            "floor_p50_s": _pct(floor.latencies, 50),
            "floor_p95_s": _pct(floor.latencies, 95),
            "lost": sum(max(0, n - rows.get(c, 0)) for c, n in acked.items()),
            "duplicated": len(stored) - len(set(stored)),
            "unacknowledged_stored": sum(max(0, n - acked.get(c, 0)) for c, n in rows.items()),
            "errors": log.errors,
            "config": dataclasses.asdict(config),
        }


def run_http(reviewers: int = 8, findings: int = 6) -> dict[str, Any]:
    """The decision-over-HTTP measure of issue 12: ``reviewers`` concurrent ``gradio_client`` sessions,
    one case each, accepting ``findings`` findings; the floor is ``/ping`` in the same sessions.

    Returns:
        A DESIGN §8 result: accept p95 vs the empty-callback p95 of the same run.
    """
    config = LoadConfig(reviewers=reviewers, cases_per_reviewer=1, findings=findings, duration_s=300)
    m = run_http_load(config)
    return result(
        "load_review.http_accept_p95",
        m["accept_p95_s"],
        m["floor_p95_s"],
        reviewers * findings,
        statistic="p95 of /accept over loopback HTTP; floor: p95 of /ping (empty callback), same sessions",
        reviewers=reviewers,
        accept_p50_s=m["accept_p50_s"],
        floor_p50_s=m["floor_p50_s"],
        lost=m["lost"],
        duplicated=m["duplicated"],
        errors=m["errors"][:3],
    )


def decision_cost(n: int = 12) -> dict[str, Any]:
    """Server work per accept in-process, without HTTP: the Review handler on the drafted demo CT plus
    the JSON of the updates it sends (median of ``n``), and the size of those updates.

    Returns:
        ``{"median_ms", "bytes", "n"}``.
    """
    import json
    import statistics

    import gradio as gr

    from app.callbacks.worklist import register
    from app.handlers import review as rv
    from app.handlers import worklist as wl
    from app.services import Services
    from inference.draft import draft_study
    from storage.repository import Repository
    from viewer.demo import make_demo_studies
    from viewer.io import load_study

    with tempfile.TemporaryDirectory(prefix="radreview-decision-") as tmp:
        data = Path(tmp) / "data"
        (data / "studies").mkdir(parents=True)
        path = make_demo_studies(data / "demo")["ct-nifti"]
        repo = Repository.open(f"sqlite:///{Path(tmp) / 'rr.db'}", data)
        svc = Services(repo=repo, data_dir=data, default_reviewer="r0")
        repo.add_reviewer("r0")
        register(svc, load_study(path, case_id="ct"), path)
        repo.save_draft(draft_study(svc.study("ct"), generator="builtin"))
        request = gr.Request(username="r0")
        sess = wl.open_case(svc, "ct", request).sess
        times, sizes = [], []
        for _ in range(n):
            start = time.perf_counter()
            out = rv.decide(svc, sess, "", None, False, "", None, request, kind="accept")
            sent = out.updates().items()
            body = json.dumps({k: v if isinstance(v, str | dict) else str(v) for k, v in sent})
            times.append(time.perf_counter() - start)
            sizes.append(len(body))
            sess = out.sess
        repo.close()
    return {"median_ms": statistics.median(times) * 1000, "bytes": int(statistics.median(sizes)), "n": n}


if __name__ == "__main__":  # python -m bench.load_review: the HTTP decision measure and the server cost
    import json

    print(json.dumps(run_http()))
    print(json.dumps(decision_cost()))
