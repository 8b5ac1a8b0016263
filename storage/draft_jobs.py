"""Draft jobs as the workers and the worklist see them: records of the ``draft_jobs`` table.

:class:`GeneratorSpec` (the configuration a job is drafted with), :class:`DraftJob` (one queue entry),
:class:`CaseDraftStatus` (a worklist cell), and the row helpers the queue in :mod:`storage.drafting`
builds its statements from.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inference.records import Draft
from storage.models import DraftJobRow, DraftRow, table

JOBS = table(DraftJobRow)
"""The ``draft_jobs`` table."""
_DRAFTS = table(DraftRow)

MAX_ATTEMPTS = 3
"""Claims of one job before a job whose worker keeps dying is failed instead of re-queued."""
DEFAULT_LEASE_S = 120.0
"""Seconds a claim is valid without a heartbeat."""
JOB_KEY = "draft_job"
"""Key of the job id in a queued draft's ``provenance.generation_params``."""
_REASON_CHARS = 500


@dataclass(frozen=True)
class GeneratorSpec:
    """The generator configuration a job is drafted with (the model is loaded once per worker).

    Attributes:
        generator: Registered generator name (``builtin``, ``hf``, ``llava-rad``…).
        model: Model path or hub id (``""`` when the generator takes none).
        quantization: ``none``, ``8bit`` or ``4bit``.
    """

    generator: str = "builtin"
    model: str = ""
    quantization: str = "none"

    def label(self) -> str:
        """``generator · model (quantization)`` for listings."""
        model = f" · {self.model}" if self.model else ""
        quant = f" ({self.quantization})" if self.quantization != "none" else ""
        return f"{self.generator}{model}{quant}"

    def where(self) -> sa.ColumnElement[bool]:
        return sa.and_(
            JOBS.c.generator == self.generator,
            JOBS.c.model_id == self.model,
            JOBS.c.quantization == self.quantization,
        )


@dataclass(frozen=True)
class DraftJob:
    """One queue entry as read from the database.

    Attributes:
        id: Job id (monotonic per database).
        case_id: The study to draft.
        spec: Generator configuration.
        status: ``queued``, ``running``, ``done`` or ``failed``.
        reason: Why it failed (or why it was re-queued), one line.
        attempts: Times it was claimed.
        worker_id: The worker holding (or that last held) it.
        lease_until: When the holder's claim expires.
        heartbeat_at: The holder's last heartbeat.
        created_at: When it was queued.
        started_at: When it was last claimed.
        finished_at: When it was done or failed.
        draft_id: The draft it produced.
    """

    id: int
    case_id: str
    spec: GeneratorSpec
    status: str
    reason: str | None = None
    attempts: int = 0
    worker_id: str | None = None
    lease_until: datetime | None = None
    heartbeat_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    draft_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (ISO-8601 timestamps)."""
        out = dataclasses.asdict(self)
        out["spec"] = dataclasses.asdict(self.spec)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat(timespec="seconds")
        return out


@dataclass(frozen=True)
class CaseDraftStatus:
    """What the worklist shows about a study's drafting: its newest job and newest draft.

    Attributes:
        job: The newest job of the study (any configuration), if any.
        generator: Generator of the newest draft, if the study has one.
        model_id: Its model id (``built-in`` for the built-in generator).
        quantization: Its quantization.
    """

    job: DraftJob | None = None
    generator: str | None = None
    model_id: str | None = None
    quantization: str | None = None

    def text(self) -> str:
        """One cell: an open job's status, else the newest draft's provenance, else a failure."""
        job = self.job
        if job is not None and job.status == "queued":
            return "queued"
        if job is not None and job.status == "running":
            return f"drafting… (attempt {job.attempts})"
        if self.generator is not None:
            quant = f", {self.quantization}" if self.quantization not in (None, "", "none") else ""
            model = "" if self.model_id in (None, "", "built-in") else f" · {self.model_id}"
            return f"{self.generator}{model}{quant}"
        if job is not None and job.status == "failed":
            return f"failed: {job.reason or 'no reason recorded'}"
        return ""


def new_worker_id() -> str:
    """A worker id unique across hosts and processes: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def one_line(reason: str) -> str:
    """A failure reason as one trimmed line (at most 500 characters)."""
    text = " ".join(str(reason).split()) or "unknown error"
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


def mark_draft(draft: Draft, job: DraftJob) -> Draft:
    """``draft`` with the job id recorded in its provenance (what :meth:`DraftQueue.job_draft` finds)."""
    params = {**draft.provenance.generation_params, JOB_KEY: job.id}
    return dataclasses.replace(
        draft, provenance=dataclasses.replace(draft.provenance, generation_params=params)
    )


def job_from_row(row: Any) -> DraftJob:
    """A :class:`DraftJob` from a ``draft_jobs`` row."""
    return DraftJob(
        id=int(row.id),
        case_id=row.case_id,
        spec=GeneratorSpec(row.generator, row.model_id, row.quantization),
        status=row.status,
        reason=row.reason,
        attempts=int(row.attempts),
        worker_id=row.worker_id,
        lease_until=row.lease_until,
        heartbeat_at=row.heartbeat_at,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        draft_id=row.draft_id,
    )


def fence(job: DraftJob) -> sa.ColumnElement[bool]:
    """The fence of a worker's update: the job is still running under the same worker and attempt."""
    return sa.and_(
        JOBS.c.id == job.id,
        JOBS.c.status == "running",
        JOBS.c.worker_id == job.worker_id,
        JOBS.c.attempts == job.attempts,
    )


def case_statuses(conn: Connection) -> dict[str, CaseDraftStatus]:
    """Per study: its newest job and its newest draft's provenance (two queries, for the worklist)."""
    newest_job = sa.select(sa.func.max(JOBS.c.id)).group_by(JOBS.c.case_id)
    ranked = sa.select(
        _DRAFTS.c.case_id, _DRAFTS.c.generator, _DRAFTS.c.model_id, _DRAFTS.c.provenance,
        sa.func.row_number()
        .over(partition_by=_DRAFTS.c.case_id, order_by=(_DRAFTS.c.created_at.desc(), _DRAFTS.c.id.desc()))
        .label("rank"),
    ).subquery()
    newest = conn.execute(sa.select(JOBS).where(JOBS.c.id.in_(newest_job)))
    jobs = {r.case_id: job_from_row(r) for r in newest}
    drafts = conn.execute(sa.select(ranked).where(ranked.c.rank == 1)).all()
    out = {case_id: CaseDraftStatus(job=job) for case_id, job in jobs.items()}
    for row in drafts:
        quant = (row.provenance or {}).get("quantization")
        out[row.case_id] = CaseDraftStatus(
            job=jobs.get(row.case_id), generator=row.generator, model_id=row.model_id, quantization=quant
        )
    return out
