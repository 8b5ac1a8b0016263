"""The drafting queue: studies waiting to be drafted ahead of review, claimed by workers.

A :class:`DraftQueue` works on the ``draft_jobs`` table of a repository's database. One job is one
study to draft with one generator configuration (:class:`GeneratorSpec`):

* **enqueue** — :meth:`DraftQueue.enqueue` (one study) and :meth:`DraftQueue.enqueue_undrafted`
  (every study with no draft and no job for the configuration yet). Idempotent: a study already
  queued, running or done for that configuration is not queued again, and a partial unique index
  refuses a second open job even when two enqueuers race.
* **claim** — :meth:`DraftQueue.claim` takes up to ``n`` queued jobs of the worker's configuration
  in one write transaction: ``BEGIN IMMEDIATE`` on SQLite (the repository's write gate, so one
  writer at a time), ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (concurrent claimers skip
  each other's rows). Each claimed job becomes ``running`` with the worker's id, ``attempts + 1``
  and a lease (``lease_until``) that the worker renews with :meth:`DraftQueue.heartbeat`.
* **stale leases** — every claim first re-queues ``running`` jobs whose lease ran out (the worker
  died or hung); a job whose worker died :data:`MAX_ATTEMPTS` times fails with that reason instead,
  so a study that kills its worker cannot stop the queue.
* **exactly one draft** — a draft written for a job carries the job id in its provenance
  (``generation_params["draft_job"]``, :func:`mark_draft`). The draft row is the commit point:
  before drafting, and again before saving, the worker looks for a draft of the job
  (:meth:`DraftQueue.job_draft`) and completes the job with it instead of drafting again; so a
  worker killed between saving the draft and marking the job done leaves nothing to redo and
  nothing twice. The remaining window — a worker whose lease expired while it was still alive
  (stalled longer than the lease) saving at the same instant as its successor — is closed by the
  fenced updates below only for the job row, not for the draft; the lease (default two minutes,
  renewed every few seconds by a thread) keeps it theoretical.
* **fencing** — :meth:`complete`, :meth:`fail` and :meth:`heartbeat` change a job only while it is
  ``running`` under the same worker and attempt (a :class:`DraftJob` carries both), so a worker
  that lost its lease cannot overwrite its successor's result.
* **failure** — :meth:`fail` records a one-line reason; the other jobs go on.

Rows are queue state (mutable), not history: the review log stays append-only elsewhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inference.records import Draft
from storage.draft_jobs import (
    DEFAULT_LEASE_S,
    JOB_KEY,
    JOBS,
    MAX_ATTEMPTS,
    CaseDraftStatus,
    DraftJob,
    GeneratorSpec,
    case_statuses,
    fence,
    job_from_row,
    mark_draft,
    new_worker_id,
    one_line,
)
from storage.models import DRAFT_JOB_STATUSES, DraftRow, StudyRow, table, utcnow
from storage.repo.base import insert_ignore

if TYPE_CHECKING:
    from storage.repository import Repository

__all__ = ["DEFAULT_LEASE_S", "JOB_KEY", "MAX_ATTEMPTS", "CaseDraftStatus", "DraftJob", "DraftQueue",
           "GeneratorSpec", "mark_draft", "new_worker_id", "one_line"]

_JOBS = JOBS
_DRAFTS = table(DraftRow)
_STUDIES = table(StudyRow)


class DraftQueue:
    """The ``draft_jobs`` table of one repository (see the module docstring).

    Args:
        repo: An open :class:`storage.repository.Repository` (its engine and data directory).
        lease_s: Seconds a claim lasts without a heartbeat.
        max_attempts: Claims before a job whose worker keeps dying fails.
    """

    def __init__(
        self, repo: Repository, *, lease_s: float = DEFAULT_LEASE_S, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        if lease_s <= 0 or max_attempts < 1:
            raise ValueError(f"lease_s must be > 0 and max_attempts ≥ 1, got {lease_s} and {max_attempts}")
        self.repo = repo
        self.engine = repo.engine
        self.lease = timedelta(seconds=lease_s)
        self.max_attempts = max_attempts
        self._write = repo.db.write  # the repository's transactions and write gate
        self._read = repo.db.read

    # -- enqueue ------------------------------------------------------------------------------

    def enqueue(self, case_id: str, spec: GeneratorSpec, *, again: bool = False) -> DraftJob | None:
        """Queue ``case_id`` for drafting with ``spec``.

        Args:
            case_id: A registered study.
            spec: Generator configuration.
            again: Queue even when a job of this configuration is already done or failed (not when
                one is open: there is never more than one open job per study and configuration).

        Returns:
            The new job, or ``None`` when the study was already queued/running (or done/failed and
            ``again`` is false).

        Raises:
            LookupError: the case is not registered.
        """
        with self._write() as conn:
            if (
                conn.execute(sa.select(_STUDIES.c.case_id).where(_STUDIES.c.case_id == case_id)).first()
                is None
            ):
                raise LookupError(f"case {case_id!r} is not registered (radreview ingest PATH adds studies)")
            statuses = ("queued", "running") if again else DRAFT_JOB_STATUSES
            existing = conn.execute(
                sa.select(_JOBS.c.id).where(
                    _JOBS.c.case_id == case_id, spec.where(), _JOBS.c.status.in_(statuses)
                )
            ).first()
            if existing is not None:
                return None
            job_id = self._insert(conn, case_id, spec)
        return self.get(job_id) if job_id is not None else None

    def enqueue_undrafted(self, spec: GeneratorSpec, case_ids: Sequence[str] | None = None) -> list[DraftJob]:
        """Queue every study (or those of ``case_ids``) that has no draft and no job for ``spec``.

        Returns:
            The jobs added, oldest study first.
        """
        has_draft = sa.exists().where(_DRAFTS.c.case_id == _STUDIES.c.case_id)
        has_job = sa.exists().where(_JOBS.c.case_id == _STUDIES.c.case_id, spec.where())
        query = (
            sa.select(_STUDIES.c.case_id)
            .where(~has_draft, ~has_job)
            .order_by(_STUDIES.c.created_at, _STUDIES.c.case_id)
        )
        if case_ids is not None:
            query = query.where(_STUDIES.c.case_id.in_(list(case_ids)))
        with self._read() as conn:  # the common case in serve's polling loop: nothing new, no write lock
            if conn.execute(query.limit(1)).first() is None:
                return []
        with self._write() as conn:
            added = [
                i
                for case_id in conn.execute(query).scalars().all()
                if (i := self._insert(conn, case_id, spec)) is not None
            ]
        return [self.get(i) for i in added]

    def _insert(self, conn: Connection, case_id: str, spec: GeneratorSpec) -> int | None:
        """Insert one queued job; ``None`` when the open-job unique index refused it (a race)."""
        found = insert_ignore(conn, _JOBS, returning=_JOBS.c.id, case_id=case_id, generator=spec.generator,
                              model_id=spec.model, quantization=spec.quantization, status="queued",
                              attempts=0, created_at=utcnow())
        return None if found is None else int(found)

    # -- claim, heartbeat, finish -------------------------------------------------------------

    def claim(self, worker_id: str, spec: GeneratorSpec, n: int = 1) -> list[DraftJob]:
        """Claim up to ``n`` queued jobs of ``spec`` for ``worker_id``, oldest first (one transaction).

        Stale jobs (lease expired) are re-queued — or failed after :attr:`max_attempts` — first.
        """
        if n < 1:
            raise ValueError(f"claim at least one job, not {n}")
        now = utcnow()
        with self._write() as conn:
            self._requeue_stale(conn, now)
            query = (
                sa.select(_JOBS.c.id)
                .where(_JOBS.c.status == "queued", spec.where())
                .order_by(_JOBS.c.id)
                .limit(n)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = [int(i) for i in conn.execute(query).scalars().all()]
            if not ids:
                return []
            conn.execute(
                sa.update(_JOBS)
                .where(_JOBS.c.id.in_(ids), _JOBS.c.status == "queued")
                .values(
                    status="running",
                    worker_id=worker_id,
                    attempts=_JOBS.c.attempts + 1,
                    started_at=now,
                    heartbeat_at=now,
                    lease_until=now + self.lease,
                    reason=None,
                )
            )
            found = conn.execute(
                sa.select(_JOBS)
                .where(_JOBS.c.id.in_(ids), _JOBS.c.worker_id == worker_id, _JOBS.c.status == "running")
                .order_by(_JOBS.c.id)
            )
            return [job_from_row(r) for r in found]

    def requeue_stale(self) -> int:
        """Re-queue (or fail) running jobs whose lease expired; returns how many were touched."""
        with self._write() as conn:
            return self._requeue_stale(conn, utcnow())

    def _requeue_stale(self, conn: Connection, now: datetime) -> int:
        stale = sa.and_(_JOBS.c.status == "running", _JOBS.c.lease_until < now)
        given_up = conn.execute(
            sa.update(_JOBS)
            .where(stale, _JOBS.c.attempts >= self.max_attempts)
            .values(
                status="failed",
                finished_at=now,
                reason=f"its worker stopped (lease expired) on each of {self.max_attempts} attempts; "
                "the study may crash the generator — check it, then `radreview drafts run --retry-failed`",
            )
        )
        requeued = conn.execute(
            sa.update(_JOBS)
            .where(stale)
            .values(
                status="queued",
                reason=sa.func.coalesce(_JOBS.c.worker_id, "?").concat(
                    " stopped before finishing (lease expired); re-queued"
                ),
            )
        )
        return int(given_up.rowcount or 0) + int(requeued.rowcount or 0)

    def heartbeat(self, jobs: Sequence[DraftJob]) -> list[DraftJob]:
        """Extend the lease of ``jobs``; returns those still held (a lost job must not be finished)."""
        if not jobs:
            return []
        now = utcnow()
        held = []
        with self._write() as conn:
            for job in jobs:
                changed = conn.execute(
                    sa.update(_JOBS).where(fence(job)).values(heartbeat_at=now, lease_until=now + self.lease)
                ).rowcount
                if changed:
                    held.append(dataclasses.replace(job, heartbeat_at=now, lease_until=now + self.lease))
        return held

    def complete(self, job: DraftJob, draft_id: str) -> bool:
        """Mark ``job`` done with ``draft_id``; False (nothing changed) when the job was lost."""
        with self._write() as conn:
            changed = conn.execute(
                sa.update(_JOBS)
                .where(fence(job))
                .values(status="done", draft_id=draft_id, finished_at=utcnow(), reason=None, lease_until=None)
            ).rowcount
        return bool(changed)

    def fail(self, job: DraftJob, reason: str) -> bool:
        """Mark ``job`` failed with a one-line ``reason``; False when the job was lost."""
        with self._write() as conn:
            changed = conn.execute(
                sa.update(_JOBS)
                .where(fence(job))
                .values(status="failed", reason=one_line(reason), finished_at=utcnow(), lease_until=None)
            ).rowcount
        return bool(changed)

    def release(self, jobs: Sequence[DraftJob], reason: str = "worker stopped; re-queued") -> int:
        """Put held jobs back in the queue (a clean shutdown); their attempt is not counted."""
        count = 0
        with self._write() as conn:
            for job in jobs:
                count += int(
                    conn.execute(
                        sa.update(_JOBS)
                        .where(fence(job))
                        .values(
                            status="queued",
                            worker_id=None,
                            lease_until=None,
                            attempts=_JOBS.c.attempts - 1,
                            reason=one_line(reason),
                        )
                    ).rowcount
                    or 0
                )
        return count

    def retry_failed(self, spec: GeneratorSpec | None = None) -> int:
        """Re-queue failed jobs (of ``spec``, or all) with their attempts reset; returns how many."""
        where = [_JOBS.c.status == "failed"] + ([spec.where()] if spec is not None else [])
        with self._write() as conn:
            failed = conn.execute(
                sa.select(
                    _JOBS.c.id, _JOBS.c.case_id, _JOBS.c.generator, _JOBS.c.model_id, _JOBS.c.quantization
                ).where(*where)
            ).all()
            count = 0
            for row in failed:
                spec_row = GeneratorSpec(row.generator, row.model_id, row.quantization)
                open_job = conn.execute(
                    sa.select(_JOBS.c.id).where(
                        _JOBS.c.case_id == row.case_id,
                        spec_row.where(),
                        _JOBS.c.status.in_(("queued", "running")),
                    )
                ).first()
                if open_job is None:
                    count += int(
                        conn.execute(
                            sa.update(_JOBS)
                            .where(_JOBS.c.id == row.id)
                            .values(status="queued", attempts=0, worker_id=None, finished_at=None)
                        ).rowcount
                        or 0
                    )
        return count

    # -- exactly-once drafts ------------------------------------------------------------------

    def job_draft(self, job: DraftJob) -> str | None:
        """The id of a stored draft written for ``job`` (found by :func:`mark_draft`'s job id), if any."""
        with self._read() as conn:
            found = conn.execute(
                sa.select(_DRAFTS.c.id, _DRAFTS.c.provenance)
                .where(_DRAFTS.c.case_id == job.case_id)
                .order_by(_DRAFTS.c.created_at, _DRAFTS.c.id)
            ).all()
        for draft_id, provenance in found:
            if (provenance or {}).get("generation_params", {}).get(JOB_KEY) == job.id:
                return str(draft_id)
        return None

    def save(self, job: DraftJob, draft: Draft) -> str | None:
        """Store ``draft`` for ``job`` exactly once and mark the job done; returns the draft id.

        A draft already stored for the job (by a worker that died before marking it done, or a
        successor that got there first) is reused instead of storing a second one. Returns ``None``
        when the job is no longer held by this worker (its lease was lost): nothing is stored.
        """
        existing = self.job_draft(job)
        if existing is not None:
            self.complete(job, existing)
            return existing
        if not self.heartbeat([job]):
            return None
        draft_id = str(self.repo.save_draft(mark_draft(draft, job)))
        self.complete(job, draft_id)
        return draft_id

    # -- reading ------------------------------------------------------------------------------

    def get(self, job_id: int) -> DraftJob:
        """One job.

        Raises:
            LookupError: no such job.
        """
        with self._read() as conn:
            row = conn.execute(sa.select(_JOBS).where(_JOBS.c.id == job_id)).first()
        if row is None:
            raise LookupError(f"draft job {job_id} does not exist")
        return job_from_row(row)

    def jobs(self, *, status: str | None = None, case_id: str | None = None) -> list[DraftJob]:
        """Jobs, oldest first, optionally of one status or study."""
        if status is not None and status not in DRAFT_JOB_STATUSES:
            raise ValueError(
                f"unknown job status {status!r}; expected one of {', '.join(DRAFT_JOB_STATUSES)}"
            )
        query = sa.select(_JOBS).order_by(_JOBS.c.id)
        if status is not None:
            query = query.where(_JOBS.c.status == status)
        if case_id is not None:
            query = query.where(_JOBS.c.case_id == case_id)
        with self._read() as conn:
            return [job_from_row(r) for r in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """Jobs per status (all four keys)."""
        counts = dict.fromkeys(DRAFT_JOB_STATUSES, 0)
        with self._read() as conn:
            for status, count in conn.execute(
                sa.select(_JOBS.c.status, sa.func.count()).group_by(_JOBS.c.status)
            ):
                counts[str(status)] = int(count)
        return counts

    def case_status(self) -> dict[str, CaseDraftStatus]:
        """Per study: its newest job and its newest draft's provenance (two queries, for the worklist)."""
        with self._read() as conn:
            return case_statuses(conn)
