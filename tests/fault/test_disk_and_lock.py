"""A full disk during an action write, and a database locked by another process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fault.faultlib import integrity, populate, stored_actions

HERE = Path(__file__).parent


def test_full_disk_refuses_the_action_clearly_and_keeps_the_committed_ones(
    tmp_path: Path, demo_png: Path
) -> None:
    url, data = populate(tmp_path, demo_png, cases=1, findings=8)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, str(HERE / "fault_worker.py"), "fulldisk", url, str(data), "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert lines[1:4] == [f"ACK c0 f{i} accept" for i in range(3)]
    assert lines[4].startswith("ERR not saved: the database file could not be written"), lines[4]
    assert "disk" in lines[4]
    db = tmp_path / "rr.db"
    assert integrity(db) == "ok"
    assert stored_actions(db) == [("c0", f"f{i}", "accept") for i in range(3)]  # nothing half-written
    # With space back, the same action succeeds on the same database.
    from app.callbacks import review
    from app.services import Services
    from storage.repository import Repository

    svc = Services(repo=Repository.open(url, data), data_dir=data, default_reviewer="alice")
    state = review.decide(svc, "alice", "c0", "f3", "accept", review.Decision())
    assert state.version == 4 and state.state_of("f3").status == "accepted"
    svc.repo.close()


LOCKER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "LOCKED"
    return proc


@pytest.fixture()
def locked_case(tmp_path: Path, demo_png: Path):  # type: ignore[no-untyped-def]
    """A populated database; the test opens its own Services (so it can set the busy timeout first)."""
    url, data = populate(tmp_path, demo_png, cases=2, findings=4)
    return url, data, tmp_path / "rr.db"


def _services(url: str, data: Path):  # type: ignore[no-untyped-def]
    from app.services import Services
    from storage.repository import Repository

    return Services(repo=Repository.open(url, data), data_dir=data, default_reviewer="alice")


def test_action_waits_for_a_lock_held_shorter_than_busy_timeout(locked_case) -> None:  # type: ignore[no-untyped-def]
    from app.callbacks import review

    url, data, db = locked_case
    svc = _services(url, data)
    review.review_state(svc, "c0")  # warm the connection before the lock
    locker = _hold_lock(db, 1.5)
    start = time.monotonic()
    state = review.decide(svc, "alice", "c0", "f0", "accept", review.Decision())
    waited = time.monotonic() - start
    assert locker.wait(timeout=30) == 0
    assert 1.0 < waited < 20, waited  # it waited for the other process, then committed
    assert state.state_of("f0").status == "accepted"
    assert stored_actions(db) == [("c0", "f0", "accept")]  # exactly once
    svc.repo.close()


def test_action_past_busy_timeout_fails_with_database_busy(locked_case, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import storage.engine
    from app.callbacks import review
    from app.services import ServiceError

    monkeypatch.setattr(storage.engine, "BUSY_TIMEOUT_MS", 300)  # the real lock, a shorter wait
    url, data, db = locked_case
    svc = _services(url, data)
    review.review_state(svc, "c0")
    locker = _hold_lock(db, 3.0)
    start = time.monotonic()
    with pytest.raises(ServiceError, match="database is busy"):
        review.decide(svc, "alice", "c0", "f0", "accept", review.Decision())
    assert time.monotonic() - start < 2.5
    assert locker.wait(timeout=30) == 0
    assert stored_actions(db) == []  # not written, not half-written
    # Once the lock is gone the reviewer's retry is stored exactly once.
    review.decide(svc, "alice", "c0", "f0", "accept", review.Decision())
    assert stored_actions(db) == [("c0", "f0", "accept")]
    assert integrity(db) == "ok"
    svc.repo.close()
