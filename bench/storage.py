"""Storage benchmark: reviewer actions committed one per transaction vs raw ``sqlite3`` inserts.

For each SQLite ``synchronous`` setting (``FULL``, our default, and ``NORMAL``) the same run measures

* **ours** — ``Repository.record_action`` for ``n`` actions (accept/edit alternating over 40 findings
  of one draft): ``BEGIN IMMEDIATE``, the actions appended since the cached state,
  optimistic-lock check, validation, insert, ``COMMIT`` (:mod:`storage.repo.review_log`);
* **floor** — the same rows (read back from our database) inserted with bare :mod:`sqlite3` into an
  identically migrated database, one ``BEGIN IMMEDIATE … COMMIT`` per row, same pragmas.

The two alternate in blocks (ours, then raw on the rows just written) so that load from other
processes on a shared machine hits both alike. Figures are the best block (mean seconds per action;
the least disturbed by other processes, as ``timeit`` recommends), with the medians in ``params``.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import result

_FINDINGS = 40


def _repository(root: Path, synchronous: str) -> tuple[Any, str]:
    import numpy as np

    from inference.records import Draft, Finding, Provenance, Section
    from storage.repository import Repository
    from viewer.records import Image, Study

    repo = Repository.open(None, root, synchronous=synchronous)
    repo.add_reviewer("bench")
    image = Image(np.zeros((4, 4), np.float32), (1.0, 1.0), np.eye(4), "DX", "MONOCHROME2", None, "b",
                  "0" * 64)
    repo.register_study(Study("bench-case", "cxr", (image,)), "studies/bench")
    findings = tuple(Finding(f"f{i}", "lungs", f"Finding {i}.") for i in range(_FINDINGS))
    draft = Draft("bench-case", (Section("lungs", findings),), None, Provenance("builtin", "built-in"))
    return repo, repo.save_draft(draft)


class _Raw:
    """A migrated copy of the schema that receives rows with bare sqlite3 (same pragmas)."""

    def __init__(self, source: Path, root: Path, synchronous: str) -> None:
        from storage.repository import Repository

        Repository.open(None, root).close()  # same schema, indexes and constraints
        self.source = sqlite3.connect(source)
        self.conn = sqlite3.connect(root / "radreview.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON",
                       f"synchronous={synchronous}"):
            self.conn.execute(f"PRAGMA {pragma}")
        for table in ("reviewers", "studies", "drafts"):
            rows = self.source.execute(f"SELECT * FROM {table}").fetchall()
            self.conn.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(rows[0]))})", rows)
        self.copied = 0

    def replay(self) -> tuple[float, int]:
        """Insert the action rows added to the source since the last call; returns (seconds, rows)."""
        rows = self.source.execute("SELECT * FROM review_actions WHERE id > ? ORDER BY id",
                                   (self.copied,)).fetchall()
        insert = f"INSERT INTO review_actions VALUES ({','.join('?' * len(rows[0]))})"
        start = time.perf_counter()
        for row in rows:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(insert, row)
            self.conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        self.copied = rows[-1][0]
        return elapsed, len(rows)

    def close(self) -> None:
        self.source.close()
        self.conn.close()


def _ours(repo: Any, draft_id: str, start: int, n: int, versions: dict[str, int]) -> float:
    from storage.records import ReviewAction

    began = time.perf_counter()
    for i in range(start, start + n):
        fid = f"f{i % _FINDINGS}"
        extra: dict[str, Any] = {"after_text": f"Edit {i}.", "reason": "style"} if i % 2 == 0 else {}
        repo.record_action(ReviewAction("edit" if extra else "accept", "bench-case", draft_id, "bench",
                                        finding_id=fid, base_version=versions.get(fid, 0), **extra))
        versions[fid] = versions.get(fid, 0) + 1
    return time.perf_counter() - began


def _measure(root: Path, synchronous: str, n: int, blocks: int) -> tuple[list[float], list[float]]:
    """Per-action seconds of ours and of the raw floor, block by block, interleaved in time."""
    repo, draft_id = _repository(root / "ours", synchronous)
    raw = _Raw(root / "ours" / "radreview.db", root / "raw", synchronous)
    ours_s: list[float] = []
    raw_s: list[float] = []
    versions: dict[str, int] = {}
    size = n // blocks
    try:
        for b in range(blocks):
            ours_s.append(_ours(repo, draft_id, b * size, size, versions) / size)
            elapsed, rows = raw.replay()
            assert rows == size, f"expected {size} rows to replay, found {rows}"
            raw_s.append(elapsed / rows)
    finally:
        raw.close()
        repo.close()
    return ours_s, raw_s


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure both ``synchronous`` settings (2,000 actions in 20 interleaved blocks; quick: 200)."""
    n, blocks = (200, 4) if quick else (2000, 20)
    out = []
    for synchronous in ("FULL", "NORMAL"):
        with tempfile.TemporaryDirectory(prefix="radreview-bench-") as tmp:
            ours_s, raw_s = _measure(Path(tmp), synchronous, n, blocks)
        ours, raw = min(ours_s), min(raw_s)
        out.append(result(f"storage.record_action_{synchronous.lower()}", ours, raw, n,
                          statistic=f"best of {blocks} interleaved blocks (mean seconds per action)",
                          synchronous=synchronous, ours_actions_per_s=round(1 / ours, 1),
                          raw_actions_per_s=round(1 / raw, 1),
                          median_ours_s=statistics.median(ours_s), median_floor_s=statistics.median(raw_s),
                          journal_mode="WAL", one_transaction_per_action=True))
    return out
