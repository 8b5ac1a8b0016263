"""Many writer processes on one database; a writer killed mid-stream loses nothing it confirmed.

Writers are forked from the test process (no interpreter start-up per writer); each opens its own
repository, engine and connections after the fork, exactly like separate server workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from inference.records import Draft, Finding, Provenance, Section
from storage.engine import create_engine
from storage.repository import Repository
from tests.storage import storage_factories as F
from tests.storage.writer_proc import write_actions

_FORK = multiprocessing.get_context("fork")


def _setup(tmp_path: Path, cases: int, findings: int = 40,
           url: str | None = None) -> tuple[str, Path, list[tuple[str, str]]]:
    url, data = url or f"sqlite:///{tmp_path / 'radreview.db'}", tmp_path / "data"
    with Repository.open(url, data) as repo:
        drafts = []
        for c in range(cases):
            case_id = f"case-{c}"
            repo.register_study(F.study(case_id), f"studies/{case_id}")
            items = tuple(Finding(f"f{i}", "lungs", f"Finding {i}.") for i in range(findings))
            drafts.append((repo.save_draft(Draft(case_id, (Section("lungs", items),), None,
                                                 Provenance("builtin", "built-in"))), case_id))
    return url, data, drafts


class Writer:
    """A forked writer process whose stdout is a pipe to the test (fork: no interpreter start-up)."""

    def __init__(self, url: str, data: Path, draft: tuple[str, str], writer: int, share: int, n: int) -> None:
        read_fd, write_fd = os.pipe()
        self.process = _FORK.Process(target=_child, args=(write_fd, url, str(data), *draft, writer, share, n))
        self.process.start()
        os.close(write_fd)
        self.stdout = os.fdopen(read_fd)

    def finish(self, timeout: float) -> list[list[str]]:
        """Wait for exit; the reported ``[id, tag]`` lines (complete lines only)."""
        lines = [line.split() for line in self.stdout.read().splitlines()]
        self.process.join(timeout)
        self.stdout.close()
        return [line for line in lines if len(line) == 2]


def _child(write_fd: int, url: str, data: str, draft_id: str, case_id: str, writer: int, share: int,
           n: int) -> None:
    with os.fdopen(write_fd, "w") as out:
        write_actions(url, data, draft_id, case_id, writer, share, n, out=out)


def _rows(url: str) -> list[tuple[int, str, str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT id, comment, draft_id, seq FROM review_actions ORDER BY id"
            result = conn.execute(sa.text(query))
            return [(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in result]
    finally:
        engine.dispose()


def _integrity(url: str) -> str:
    if not url.startswith("sqlite"):
        return "ok"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
    finally:
        engine.dispose()


def _run_writers(tmp_path: Path, writers: int, per_writer: int, url: str | None = None) -> None:
    share = 2  # two writers per case, on disjoint findings of the same draft
    url, data, drafts = _setup(tmp_path, cases=writers // share, url=url)
    procs = [Writer(url, data, drafts[w // share], w, share, per_writer) for w in range(writers)]
    reported = []
    for proc in procs:
        reported += proc.finish(timeout=300)
        assert proc.process.exitcode == 0, f"writer exited with {proc.process.exitcode} (traceback above)"
    rows = _rows(url)
    tags = Counter(comment for _, comment, _, _ in rows)
    expected = {f"w{w}-{i}" for w in range(writers) for i in range(per_writer)}
    assert set(tags) == expected and set(tags.values()) == {1}  # every action exactly once
    assert sorted((int(i), t) for i, t in reported) == sorted((i, c) for i, c, _, _ in rows)
    for draft_id, _ in drafts:  # each review's sequence is dense: 0..n-1
        seqs = sorted(s for _, _, d, s in rows if d == draft_id)
        assert seqs == list(range(share * per_writer))
    assert _integrity(url) == "ok"


def test_8_writers_x_500_actions(tmp_path: Path) -> None:
    _run_writers(tmp_path, writers=8, per_writer=500)


@pytest.mark.postgres
def test_writer_processes_on_postgres(tmp_path: Path, pg_empty: str) -> None:
    """Same check on PostgreSQL, where writers really run concurrently and UNIQUE(draft_id, seq)
    conflicts are retried."""
    _run_writers(tmp_path, writers=8, per_writer=100, url=pg_empty)


def test_sigkill_loses_nothing_confirmed(tmp_path: Path) -> None:
    url, data, drafts = _setup(tmp_path, cases=1)
    victim = Writer(url, data, drafts[0], 0, 2, 0)  # writes until killed
    neighbour = Writer(url, data, drafts[0], 1, 2, 150)
    confirmed: list[list[str]] = []
    deadline = time.monotonic() + 60
    while len(confirmed) < 120 and time.monotonic() < deadline:
        line = victim.stdout.readline()
        if not line:
            break
        confirmed.append(line.split())
    victim.process.kill()  # SIGKILL
    confirmed += victim.finish(timeout=30)
    neighbour.finish(timeout=120)
    assert neighbour.process.exitcode == 0
    assert len(confirmed) >= 120 and victim.process.exitcode == -signal.SIGKILL
    rows = {(i, c) for i, c, _, _ in _rows(url)}
    assert {(int(i), t) for i, t in confirmed} <= rows
    assert sum(1 for _, c in rows if c.startswith("w1-")) == 150
    assert _integrity(url) == "ok"
    with Repository.open(url, data) as repo:  # the database is usable after the crash
        state = repo.review_state("case-0", drafts[0][0])
        assert state.version == len(rows)
