"""The drafting worker and ``radreview drafts``: a batch run, a bad study failing alone, SIGKILL of a
worker mid-batch (no draft lost or stored twice), serve's background worker, the worklist column."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.drafting import DraftWorker, start_drafting
from app.services import GeneratorConfig, Services
from bench.common import serve_command
from storage.drafting import DraftQueue, GeneratorSpec
from storage.repository import Repository

HERE = Path(__file__).parent


@pytest.fixture()
def data(tmp_path: Path, demo_files: dict[str, Path]) -> Path:
    """A data directory with five CXR cases (one PNG registered under several case ids), no drafts."""
    from viewer.io import load_study

    data = tmp_path / "data"
    (data / "studies").mkdir(parents=True)
    source = data / "studies" / "cxr.png"
    source.write_bytes(demo_files["cxr-png"].read_bytes())
    with Repository.open(None, data) as repo:
        for i in range(5):
            repo.register_study(load_study(source, case_id=f"c{i}"), "studies/cxr.png")
    return data


def _corrupt_case(data: Path, case_id: str) -> None:
    """Register ``case_id`` pointing at a file that is not an image."""
    import dataclasses

    from viewer.io import load_study

    (data / "studies" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with Repository.open(None, data) as repo:
        good = load_study(data / "studies" / "cxr.png", case_id=case_id)
        repo.register_study(
            dataclasses.replace(good, images=(dataclasses.replace(good.primary, sha256="e" * 64),)),
            "studies/broken.png",
        )


def _drafts_per_case(data: Path) -> dict[str, int]:
    with Repository.open(None, data) as repo:
        return {s.case_id: len(repo.drafts_for(s.case_id)) for s in repo.list_studies()}


def test_drafts_run_drafts_everything_and_a_bad_study_fails_alone(data: Path, capsys: Any) -> None:
    _corrupt_case(data, "bad")
    code = main(["drafts", "run", "--data-dir", str(data), "--batch-size", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3  # DESIGN §7: a study that could not be read
    assert sorted(d["case_id"] for d in out["done"]) == ["c0", "c1", "c2", "c3", "c4"]
    (failure,) = out["failed"]
    assert failure["case_id"] == "bad" and failure["reason"].startswith("cannot load the study: ")
    assert "broken.png" in failure["reason"] and "Traceback" not in failure["reason"]
    assert out["counts"] == {"queued": 0, "running": 0, "done": 5, "failed": 1}
    assert _drafts_per_case(data) == {"c0": 1, "c1": 1, "c2": 1, "c3": 1, "c4": 1, "bad": 0}
    assert main(["drafts", "run", "--data-dir", str(data)]) == 0  # nothing new; the failure is not retried
    assert _drafts_per_case(data)["c0"] == 1
    capsys.readouterr()
    assert main(["drafts", "status", "--data-dir", str(data), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["failed"] == 1
    (bad,) = [j for j in status["jobs"] if j["case_id"] == "bad"]
    assert bad["status"] == "failed" and bad["reason"] == failure["reason"]
    assert main(["drafts", "status", "--data-dir", str(data)]) == 0
    text = capsys.readouterr().out
    assert "queued: 0  running: 0  done: 5  failed: 1" in text and "bad  failed  builtin" in text


def test_drafts_usage_errors_exit_2(data: Path, capsys: Any) -> None:
    assert main(["drafts", "run", "--data-dir", str(data), "--generator", "bulitin"]) == 2
    assert "did you mean 'builtin'" in capsys.readouterr().err
    assert main(["drafts", "run", "--data-dir", str(data), "--batch-size", "0"]) == 2
    assert main(["drafts", "enqueue", "nope", "--data-dir", str(data)]) == 2
    assert "'nope' is not registered" in capsys.readouterr().err


def test_drafts_enqueue_then_run_with_limit(data: Path, capsys: Any) -> None:
    assert main(["drafts", "enqueue", "c3", "c1", "--data-dir", str(data), "--json"]) == 0
    assert [j["case_id"] for j in json.loads(capsys.readouterr().out)["queued"]] == ["c3", "c1"]
    assert main(["drafts", "run", "--data-dir", str(data), "--no-enqueue", "--limit", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["case_id"] for d in out["done"]] == ["c3"] and out["counts"]["queued"] == 1


def _kill_mid_batch(data: Path, mode: str, marker: str) -> tuple[list[str], str]:
    url = f"sqlite:///{data / 'radreview.db'}"
    with Repository.open(url, data) as repo:
        DraftQueue(repo).enqueue_undrafted(GeneratorSpec())
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "drafts_worker_proc.py"), url, str(data), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    done: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        word, case_id = line.split()
        if word == "DONE":
            done.append(case_id)
        if word == marker:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"worker exited {proc.returncode} before reaching {marker}"
    return done, case_id


@pytest.mark.parametrize(("mode", "marker"), [("generate", "GENERATING"), ("saved", "SAVED")])
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(data: Path, mode: str, marker: str) -> None:
    done, killed_at = _kill_mid_batch(data, mode, marker)
    assert sorted(done) == ["c0", "c1"] and killed_at == "c2"  # the first batch of two was finished
    with Repository.open(None, data) as repo:
        queue = DraftQueue(repo, lease_s=1.0)
        running = {j.case_id: j.attempts for j in queue.jobs(status="running")}
        assert running == {"c2": 1, "c3": 1}  # claimed by the dead worker, lease not yet expired
        assert [j.case_id for j in queue.jobs(status="queued")] == ["c4"]
        time.sleep(1.2)  # the dead worker's lease runs out
        worker = DraftWorker(
            queue,
            GeneratorSpec(),
            Services(repo=repo, data_dir=data).study,
            batch_size=2,
            log=lambda _m: None,
        )
        tally = worker.run()
        jobs = {j.case_id: j for j in queue.jobs()}
    assert {c for c, _ in tally.done} >= {"c2", "c3", "c4"} and not tally.failed
    assert {c: j.status for c, j in jobs.items()} == dict.fromkeys(["c0", "c1", "c2", "c3", "c4"], "done")
    assert (jobs["c2"].attempts, jobs["c3"].attempts, jobs["c4"].attempts) == (2, 2, 1)
    assert _drafts_per_case(data) == dict.fromkeys(["c0", "c1", "c2", "c3", "c4"], 1)  # none lost, none twice


def test_serve_background_worker_drafts_new_studies_and_stops(data: Path) -> None:
    with Repository.open(None, data) as repo:
        services = Services(repo=repo, data_dir=data, generator=GeneratorConfig())
        worker = start_drafting(services, batch_size=2, poll_s=0.1)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and repo.progress()["drafted"] < 5:
                time.sleep(0.2)
            assert repo.progress()["drafted"] == 5
            from app.callbacks.worklist import COLUMNS, rows

            table = rows(services)
            assert COLUMNS[-1] == "draft" and all(len(r) == len(COLUMNS) for r in table)
            assert {r[-1] for r in table} == {"builtin"}
        finally:
            assert worker.stop(timeout=30)
        assert DraftQueue(repo).counts()["done"] == 5


def test_worklist_shows_queued_and_failed_jobs(data: Path) -> None:
    from app.callbacks.worklist import rows

    with Repository.open(None, data) as repo:
        queue = DraftQueue(repo)
        queue.enqueue_undrafted(GeneratorSpec("hf", "/models/m", "4bit"), ["c0", "c1"])
        (job,) = queue.claim("w", GeneratorSpec("hf", "/models/m", "4bit"))
        queue.fail(job, "prompt: ValueError: no frontal image")
        cells = {r[0]: r[-1] for r in rows(Services(repo=repo, data_dir=data))}
    assert cells == {
        "c0": "failed: prompt: ValueError: no frontal image",
        "c1": "queued",
        "c2": "",
        "c3": "",
        "c4": "",
    }


def test_ingest_can_queue_the_new_studies_for_drafting(
    tmp_path: Path, demo_files: dict[str, Path], capsys: Any
) -> None:
    data = tmp_path / "data"
    args = ["ingest", str(demo_files["cxr-png"]), "--data-dir", str(data), "--json"]
    assert (
        main([*args, "--queue-drafts", "--generator", "hf", "--model", "/m", "--quantization", "4bit"]) == 0
    )
    (case_id,) = json.loads(capsys.readouterr().out)["queued_for_drafting"]
    assert main([*args, "--queue-drafts"]) == 0  # again, other generator: queued once more for that one
    assert json.loads(capsys.readouterr().out)["queued_for_drafting"] == [case_id]
    with Repository.open(None, data) as repo:
        assert [(j.case_id, j.spec.label()) for j in DraftQueue(repo).jobs()] == [
            (case_id, "hf · /m (4bit)"),
            (case_id, "builtin"),
        ]


@pytest.mark.server
@pytest.mark.slow  # ~45 s on a loaded 2-core machine: serve start-up plus five demo drafts
def test_serve_draft_ahead_drafts_the_demo_studies_and_stops_cleanly(tmp_path: Path) -> None:
    """A real `radreview serve --demo --draft-ahead`: every demo study gets drafted in the background while
    the server answers, and SIGTERM stops the worker and the server with exit 0 and no job left running."""
    import urllib.request

    from app.server import free_port

    data, port = tmp_path / "data", free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_TEMP_DIR": str(tmp_path / "gradio"),
        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    log = (tmp_path / "serve.log").open("wb")
    cmd = serve_command("--demo", "--draft-ahead", "--port", str(port), "--data-dir", str(data))
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline, drafted = time.monotonic() + 120, 0
        while time.monotonic() < deadline and drafted < 5:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert json.loads(resp.read())["status"] == "ok"
            except OSError:
                continue
            with Repository.open(None, data) as repo:
                drafted = repo.progress()["drafted"]
        assert drafted == 5, (tmp_path / "serve.log").read_text()[-2000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    # uvicorn shuts down gracefully (lifespan shutdown stops the worker), then re-raises the signal
    assert proc.returncode in (0, -signal.SIGTERM), text[-2000:]
    assert "drafting ahead of review with built-in, no AI model" in text and "Traceback" not in text
    assert "drafts: background drafting stopped" in text
    with Repository.open(None, data) as repo:
        counts = DraftQueue(repo).counts()
    assert counts == {"queued": 0, "running": 0, "done": 5, "failed": 0}


class _Interrupted:
    name = "builtin"

    def generate(self, study: Any, masks: Any, *, progress: Any = None) -> Any:
        raise KeyboardInterrupt


def test_an_interrupted_worker_hands_its_jobs_back(data: Path) -> None:
    with Repository.open(None, data) as repo:
        queue = DraftQueue(repo)
        queue.enqueue_undrafted(GeneratorSpec())
        worker = DraftWorker(
            queue,
            GeneratorSpec(),
            Services(repo=repo, data_dir=data).study,
            batch_size=2,
            generator=_Interrupted(),
            log=lambda _m: None,
        )
        with pytest.raises(KeyboardInterrupt):
            worker.run()
        jobs = queue.jobs()
    assert [(j.status, j.attempts) for j in jobs] == [("queued", 0)] * 5
    assert jobs[0].reason is not None and jobs[0].reason.endswith("was interrupted; re-queued")
