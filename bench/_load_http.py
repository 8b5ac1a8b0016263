"""``radreview bench load_review`` over real HTTP (:mod:`bench.load_review` runs the same load in process):
reviewers as ``gradio_client`` sessions against one ``radreview serve`` on loopback, the per-decision
measure of issue 12 (:func:`run_http`) and the in-process server cost of one decision
(:func:`decision_cost`). ``python -m bench.load_review`` runs both."""

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
    pct,
    run_concurrently,
    stored_rows,
    throughput,
)
from bench.common import radreview_script, result, start_server, stop_server


def _serve(root: Path, data: Path) -> tuple[Any, str]:
    """Start ``radreview serve`` on a free loopback port over ``root/rr.db``; returns (process, url)."""
    import os

    from app.server import free_port

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(root / "gradio-tmp")}
    cmd = [radreview_script(), "serve", "--port", str(port), "--data-dir", str(data)]
    cmd += ["--db", f"sqlite:///{root / 'rr.db'}"]
    return start_server(cmd, port, root / "serve.log", env, seconds=90)


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
    url: str, cases: list[str], findings: int, deadline: float, log: ActionLog, floor: ActionLog
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


def run_http_load(config: LoadConfig | None = None, root: Path | None = None) -> dict[str, Any]:
    """Like :func:`run_load`, but every reviewer is a ``gradio_client`` session against one real
    ``radreview serve`` over loopback HTTP (Gradio's queue API: ``/open_case``, ``/accept``, ``/sign``).

    After every accept the same session calls ``/ping`` (an empty callback: counter + 1), so the floor
    is an empty round trip through the same server under the same load, measured in the same run.

    Returns:
        The same keys as :func:`run_load`, plus ``accept_p50_s``/``accept_p95_s`` (accepts only) and
        ``floor_p50_s``/``floor_p95_s`` (the empty callback); ``lost``/``duplicated`` compare, per
        case, the acknowledged count with the stored rows.
    """
    config = config or LoadConfig()
    with tempfile.TemporaryDirectory(prefix="radreview-http-load-") as tmp:
        base = root or Path(tmp)
        plan = [[f"r{i}-c{j}" for j in range(config.cases_per_reviewer)] for i in range(config.reviewers)]
        svc = make_services(base, [c for cases in plan for c in cases], config.findings)
        svc.repo.close()
        proc, url = _serve(base, svc.data_dir)
        try:
            log, floor, deadline = ActionLog(), ActionLog(), time.monotonic() + config.duration_s
            args = [(url, cases, config.findings, deadline, log, floor) for cases in plan]
            seconds = run_concurrently(_http_reviewer, args)
        finally:
            stop_server(proc)
        stored = stored_rows(base / "rr.db")
        accepts = [t for t, a in zip(log.latencies, log.acked, strict=True) if a[2] == "accept"]
        acked = {c: sum(1 for a in log.acked if a[0] == c) for c in {a[0] for a in log.acked}}
        rows = {c: sum(1 for s in stored if s[0] == c) for c in {s[0] for s in stored}}
        return {
            **throughput(log, seconds),
            "accept_p50_s": pct(accepts, 50),
            "accept_p95_s": pct(accepts, 95),
            "floor_p50_s": pct(floor.latencies, 50),
            "floor_p95_s": pct(floor.latencies, 95),
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
