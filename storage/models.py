"""The relational schema (SQLAlchemy 2.0 typed ORM). No pixels, no PHI, nothing overwritten.

Tables and their guarantees (see docs/storage.md):

* ``reviewers`` — login name (primary key) and display name.
* ``studies`` — one row per pseudonymous case: kind, source sha256s, path *relative to the data
  directory*, indication, prior report, prior case. Never updated after registration.
* ``assignments`` — append-only assignment events; the latest one is the current assignee.
* ``drafts`` — immutable drafts: the exact ``to_json`` text, provenance JSON, generator and model id
  (indexed for export filters), latencies.
* ``draft_findings`` — the findings as drafted (immutable; for querying by region / model).
* ``review_actions`` — the append-only log (impression decisions use the reserved finding id
  ``@impression``; ``grounding`` records an edit's keep/drop/reground choice). ``seq`` numbers the
  actions of one review (one draft)
  densely from 0; ``UNIQUE(draft_id, seq)`` makes two writers that both read the review at version N
  unable to both append action N — the optimistic lock enforced by the database itself.
* ``signed_reports`` — the text and sections of a report at the moment it was signed (one per sign
  action, written in the same transaction).
* ``reference_reports`` — ground-truth reports imported with drafts (Reg2RG's GT column, a signed
  report), append-only, with where they came from (file, format, row).
* ``artefacts`` — masks and heat maps stored as compressed files under the data directory, keyed by
  content hash.

Study status is derived from these rows (``new`` → ``drafted`` → ``in_review`` → ``signed``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.records import ACTION_KINDS, REASON_CODES


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention (named constraints are needed by batch migrations)."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[Any]: sa.JSON(),
    }


def table(model: type[Base]) -> sa.Table:
    """The Core table of a model, typed as one (``__table__`` is typed as any ``FromClause``)."""
    found = model.__table__
    assert isinstance(found, sa.Table), f"{model.__name__} is not mapped to a table"
    return found


class Reviewer(Base):
    """A person who reviews drafts."""

    __tablename__ = "reviewers"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StudyRow(Base):
    """A registered study: where its files are and its clinical context, never its pixels."""

    __tablename__ = "studies"

    case_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    source_sha256s: Mapped[list[Any]] = mapped_column(default=list)
    data_path: Mapped[str] = mapped_column(sa.String(1024))
    indication: Mapped[str | None] = mapped_column(sa.Text)
    prior_report: Mapped[str | None] = mapped_column(sa.Text)
    prior_case_id: Mapped[str | None] = mapped_column(sa.ForeignKey("studies.case_id"))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("kind IN ('cxr', 'ct')", name="kind"),)


class Assignment(Base):
    """An assignment event (append-only); the latest per case is the current one."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("studies.case_id"), index=True)
    reviewer: Mapped[str | None] = mapped_column(sa.ForeignKey("reviewers.name"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class DraftRow(Base):
    """An immutable draft with its full provenance."""

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("studies.case_id"), index=True)
    generator: Mapped[str] = mapped_column(sa.String(64))
    model_id: Mapped[str] = mapped_column(sa.String(256), index=True)
    provenance: Mapped[dict[str, Any]] = mapped_column()
    draft_json: Mapped[str] = mapped_column(sa.Text)
    latency_s: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DraftFinding(Base):
    """A finding as drafted (immutable; the draft JSON holds the phrases and groundings too)."""

    __tablename__ = "draft_findings"

    draft_id: Mapped[str] = mapped_column(sa.ForeignKey("drafts.id"), primary_key=True)
    finding_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    position: Mapped[int] = mapped_column()
    region: Mapped[str] = mapped_column(sa.String(64), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    phrases: Mapped[list[Any]] = mapped_column(default=list)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    origin: Mapped[str] = mapped_column(sa.String(16), default="model")


class ActionRow(Base):
    """One reviewer action, appended and never changed (every :class:`ReviewAction` field)."""

    __tablename__ = "review_actions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("studies.case_id"), index=True)
    draft_id: Mapped[str] = mapped_column(sa.ForeignKey("drafts.id"))
    seq: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(16))
    reviewer: Mapped[str] = mapped_column(sa.ForeignKey("reviewers.name"), index=True)
    finding_id: Mapped[str | None] = mapped_column(sa.String(128))
    finding_version: Mapped[int | None] = mapped_column()
    base_version: Mapped[int] = mapped_column(default=0)
    phrase_index: Mapped[int | None] = mapped_column()
    before_text: Mapped[str | None] = mapped_column(sa.Text)
    after_text: Mapped[str | None] = mapped_column(sa.Text)
    before_grounding: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after_grounding: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    region: Mapped[str | None] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    clinically_significant: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    shown_at: Mapped[datetime | None] = mapped_column()
    acted_at: Mapped[datetime] = mapped_column()
    new_draft_id: Mapped[str | None] = mapped_column(sa.ForeignKey("drafts.id"))
    grounding: Mapped[str | None] = mapped_column(sa.String(16))

    __table_args__ = (
        sa.UniqueConstraint("draft_id", "seq"),
        sa.CheckConstraint("seq >= 0", name="seq_nonnegative"),
        sa.CheckConstraint(f"kind IN ({_quoted(ACTION_KINDS)})", name="kind"),
        sa.CheckConstraint(f"reason IS NULL OR reason IN ({_quoted(REASON_CODES)})", name="reason"),
        sa.Index("ix_review_actions_acted_at", "acted_at"),
    )


class SignedReport(Base):
    """The report as signed (a snapshot written with the ``sign`` action, never updated)."""

    __tablename__ = "signed_reports"

    action_id: Mapped[int] = mapped_column(sa.ForeignKey("review_actions.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("studies.case_id"), index=True)
    draft_id: Mapped[str] = mapped_column(sa.ForeignKey("drafts.id"), unique=True)
    reviewer: Mapped[str] = mapped_column(sa.ForeignKey("reviewers.name"))
    signed_at: Mapped[datetime] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text)
    sections: Mapped[list[Any]] = mapped_column()


class ReferenceReportRow(Base):
    """A ground-truth report of a case, as imported (append-only; the newest is the current one)."""

    __tablename__ = "reference_reports"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("studies.case_id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    source_file: Mapped[str] = mapped_column(sa.String(1024), default="")
    source_format: Mapped[str] = mapped_column(sa.String(32), default="")
    source_row: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArtefactRow(Base):
    """A stored array (mask, heat map) referenced by its content hash."""

    __tablename__ = "artefacts"

    ref: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    path: Mapped[str] = mapped_column(sa.String(1024))
    shape: Mapped[list[Any]] = mapped_column()
    dtype: Mapped[str] = mapped_column(sa.String(16))
    nbytes: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


DRAFT_JOB_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")


class DraftJobRow(Base):
    """One study to draft ahead of review (:mod:`storage.drafting`): a mutable queue entry, not a log.

    A worker claims a ``queued`` job (``running``, its id in ``worker_id``, a lease until
    ``lease_until`` renewed by heartbeats); a job whose lease ran out is re-queued. ``draft_id`` is the
    draft the job produced (``done``); ``reason`` says why it ``failed``.
    """

    __tablename__ = "draft_jobs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("studies.case_id"), index=True)
    generator: Mapped[str] = mapped_column(sa.String(64))
    model_id: Mapped[str] = mapped_column(sa.String(256), default="")
    quantization: Mapped[str] = mapped_column(sa.String(16), default="none")
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    reason: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    draft_id: Mapped[str | None] = mapped_column(sa.ForeignKey("drafts.id"))

    __table_args__ = (
        sa.CheckConstraint(f"status IN ({_quoted(DRAFT_JOB_STATUSES)})", name="status"),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        sa.Index("ix_draft_jobs_status_id", "status", "id"),
        # At most one open (queued or running) job per study and generator configuration: two
        # enqueuers racing on the same study cannot both add one.
        sa.Index("uq_draft_jobs_open", "case_id", "generator", "model_id", "quantization", unique=True,
                 sqlite_where=sa.text("status IN ('queued', 'running')"),
                 postgresql_where=sa.text("status IN ('queued', 'running')")),
    )
