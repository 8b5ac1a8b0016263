"""The drafting queue on SQLite and PostgreSQL: atomic claims, stale leases, fencing, exactly-once drafts.

Concurrency is tested with forked processes (separate engines and connections, like separate
workers); stale leases with a short lease instead of waiting minutes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from storage.drafting import DraftJob, DraftQueue, GeneratorSpec, mark_draft
from storage.repository import Repository
from tests.storage import storage_factories as F

BUILTIN = GeneratorSpec()
HF = GeneratorSpec("hf", "/models/llava", "4bit")
_FORK = multiprocessing.get_context("fork")


def _studies(repo: Repository, n: int) -> list[str]:
    ids = [f"case-{i:02d}" for i in range(n)]
    for case_id in ids:
        repo.register_study(F.study(case_id), f"studies/{case_id}")
    return ids


def test_enqueue_is_idempotent_per_configuration(repo: Repository) -> None:
    _studies(repo, 2)
    queue = DraftQueue(repo)
    first = queue.enqueue("case-00", BUILTIN)
    assert first is not None and first.status == "queued" and first.attempts == 0
    assert queue.enqueue("case-00", BUILTIN) is None  # already queued
    assert queue.enqueue("case-00", HF) is not None  # another configuration is another job
    with pytest.raises(LookupError, match="'nope' is not registered"):
        queue.enqueue("nope", BUILTIN)
    assert queue.counts() == {"queued": 2, "running": 0, "done": 0, "failed": 0}


def test_enqueue_undrafted_skips_drafted_and_already_queued(repo: Repository) -> None:
    _studies(repo, 3)
    repo.save_draft(F.draft("case-01"))
    queue = DraftQueue(repo)
    assert [j.case_id for j in queue.enqueue_undrafted(BUILTIN)] == ["case-00", "case-02"]
    assert queue.enqueue_undrafted(BUILTIN) == []
    assert [j.case_id for j in queue.enqueue_undrafted(HF, ["case-02"])] == ["case-02"]


def test_claim_takes_oldest_jobs_of_its_configuration_once(repo: Repository) -> None:
    _studies(repo, 3)
    queue = DraftQueue(repo)
    queue.enqueue_undrafted(BUILTIN)
    queue.enqueue("case-00", HF)
    first = queue.claim("w1", BUILTIN, 2)
    assert [(j.case_id, j.status, j.attempts, j.worker_id) for j in first] == [
        ("case-00", "running", 1, "w1"),
        ("case-01", "running", 1, "w1"),
    ]
    assert first[0].lease_until is not None and first[0].lease_until > first[0].started_at  # type: ignore[operator]
    assert [j.case_id for j in queue.claim("w2", BUILTIN, 5)] == ["case-02"]
    assert queue.claim("w3", BUILTIN, 5) == []
    assert [j.spec for j in queue.claim("w3", HF)] == [HF]


def test_a_dead_workers_job_is_requeued_then_failed_after_max_attempts(repo: Repository) -> None:
    _studies(repo, 1)
    queue = DraftQueue(repo, lease_s=0.05, max_attempts=2)
    queue.enqueue("case-00", BUILTIN)
    (first,) = queue.claim("dead-1", BUILTIN)
    time.sleep(0.1)  # the lease runs out: nobody renewed it
    (second,) = queue.claim("w2", BUILTIN)
    assert (second.id, second.attempts, second.worker_id) == (first.id, 2, "w2")
    assert not queue.complete(first, "x") and not queue.fail(first, "x")  # the dead worker is fenced off
    assert queue.heartbeat([first]) == []
    time.sleep(0.1)
    assert queue.claim("w3", BUILTIN) == []
    failed = queue.get(first.id)
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.reason is not None and "lease expired) on each of 2 attempts" in failed.reason


def test_requeued_job_says_which_worker_stopped(repo: Repository) -> None:
    _studies(repo, 1)
    queue = DraftQueue(repo, lease_s=0.05)
    queue.enqueue("case-00", BUILTIN)
    queue.claim("host:123:abc", BUILTIN)
    time.sleep(0.1)
    assert queue.requeue_stale() == 1
    (job,) = queue.jobs()
    assert job.status == "queued"
    assert job.reason == "host:123:abc stopped before finishing (lease expired); re-queued"


def test_heartbeat_keeps_a_live_workers_job(repo: Repository) -> None:
    _studies(repo, 1)
    queue = DraftQueue(repo, lease_s=0.3)
    queue.enqueue("case-00", BUILTIN)
    (job,) = queue.claim("w1", BUILTIN)
    for _ in range(4):
        time.sleep(0.1)
        assert queue.heartbeat([job])
    assert queue.claim("w2", BUILTIN) == []
    assert queue.get(job.id).worker_id == "w1"


def test_fail_records_a_one_line_reason_and_others_go_on(repo: Repository) -> None:
    _studies(repo, 2)
    queue = DraftQueue(repo)
    queue.enqueue_undrafted(BUILTIN)
    bad, good = queue.claim("w1", BUILTIN, 2)
    assert queue.fail(bad, "cannot load the study:\n  StudyLoadError: x.dcm is not DICOM")
    assert queue.save(good, F.draft("case-01")) is not None
    assert [(j.status, j.reason) for j in queue.jobs()] == [
        ("failed", "cannot load the study: StudyLoadError: x.dcm is not DICOM"),
        ("done", None),
    ]
    assert queue.retry_failed() == 1
    assert queue.get(bad.id).status == "queued" and queue.get(bad.id).attempts == 0


def test_save_stores_exactly_one_draft_across_a_crash_before_done(repo: Repository) -> None:
    """The worker died after the draft was committed but before the job was marked done: the next
    worker finds the draft by the job id in its provenance and completes the job with it."""
    _studies(repo, 1)
    queue = DraftQueue(repo, lease_s=0.05)
    queue.enqueue("case-00", BUILTIN)
    (job,) = queue.claim("dies", BUILTIN)
    stored = repo.save_draft(mark_draft(F.draft("case-00"), job))  # ... and the worker is killed here
    time.sleep(0.1)
    (again,) = queue.claim("next", BUILTIN)
    assert queue.job_draft(again) == stored
    assert queue.save(again, F.draft("case-00")) == stored  # not drafted twice
    assert [i for i, _ in repo.drafts_for("case-00")] == [stored]
    done = queue.get(job.id)
    assert (done.status, done.draft_id, done.attempts) == ("done", stored, 2)
    assert repo.get_draft(stored).provenance.generation_params["draft_job"] == job.id


def test_save_by_a_worker_that_lost_its_lease_stores_nothing(repo: Repository) -> None:
    _studies(repo, 1)
    queue = DraftQueue(repo, lease_s=0.05)
    queue.enqueue("case-00", BUILTIN)
    (stalled,) = queue.claim("stalled", BUILTIN)
    time.sleep(0.1)
    (successor,) = queue.claim("successor", BUILTIN)
    assert queue.save(stalled, F.draft("case-00")) is None
    assert repo.drafts_for("case-00") == []
    draft_id = queue.save(successor, F.draft("case-00"))
    assert draft_id is not None and queue.get(successor.id).draft_id == draft_id


def test_release_requeues_without_counting_the_attempt(repo: Repository) -> None:
    _studies(repo, 1)
    queue = DraftQueue(repo)
    queue.enqueue("case-00", BUILTIN)
    jobs = queue.claim("w1", BUILTIN)
    assert queue.release(jobs) == 1
    (job,) = queue.jobs()
    assert (job.status, job.attempts, job.worker_id) == ("queued", 0, None)


def test_case_status_shows_open_jobs_then_draft_provenance_then_failures(repo: Repository) -> None:
    _studies(repo, 4)
    queue = DraftQueue(repo)
    queue.enqueue_undrafted(BUILTIN, ["case-00", "case-01", "case-02"])
    running, failing = queue.claim("w1", BUILTIN, 2)
    queue.fail(failing, "prompt: ValueError: no frontal image")
    repo.save_draft(F.draft("case-03", model="/models/llava-rad"))
    status = queue.case_status()
    assert status["case-00"].text() == "drafting… (attempt 1)"
    assert status["case-01"].text() == "failed: prompt: ValueError: no frontal image"
    assert status["case-02"].text() == "queued"
    assert status["case-03"].text() == "builtin · /models/llava-rad"
    queue.save(running, F.draft("case-00"))
    assert DraftQueue(repo).case_status()["case-00"].text() == "builtin"


def _claimer(url: str, data: str, worker: str, write_fd: int) -> None:
    with Repository.open(url, Path(data)) as repo, os.fdopen(write_fd, "w") as out:
        queue = DraftQueue(repo)
        while jobs := queue.claim(worker, BUILTIN, 1):
            for job in jobs:
                out.write(f"{job.id}\n")
                out.flush()
                assert queue.complete(job, repo.save_draft(F.draft(job.case_id)))


def test_concurrent_workers_never_draft_the_same_job_twice(migrated_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Repository.open(migrated_url, data) as repo:
        ids = _studies(repo, 24)
        DraftQueue(repo).enqueue_undrafted(BUILTIN)
    pipes, procs = [], []
    for w in range(4):
        read_fd, write_fd = os.pipe()
        proc = _FORK.Process(target=_claimer, args=(migrated_url, str(data), f"w{w}", write_fd))
        proc.start()
        os.close(write_fd)
        pipes.append(os.fdopen(read_fd))
        procs.append(proc)
    claimed = [int(line) for pipe in pipes for line in pipe.read().split()]
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == len(ids)
    with Repository.open(migrated_url, data) as repo:
        jobs = DraftQueue(repo).jobs()
        assert {(j.status, j.attempts) for j in jobs} == {("done", 1)}
        assert all(len(repo.drafts_for(case_id)) == 1 for case_id in ids)


def test_job_json_is_plain(repo: Repository) -> None:
    _studies(repo, 1)
    job = DraftQueue(repo).enqueue("case-00", HF)
    assert isinstance(job, DraftJob)
    data = job.to_json()
    assert data["spec"] == {"generator": "hf", "model": "/models/llava", "quantization": "4bit"}
    assert isinstance(data["created_at"], str) and data["status"] == "queued"
