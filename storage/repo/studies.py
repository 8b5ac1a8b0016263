"""Reviewers, studies, assignments and reference reports: who reviews what (the worklist)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage import rows
from storage.deid import safe_meta
from storage.models import Assignment, ReferenceReportRow, Reviewer, StudyRow, table, utcnow
from storage.records import ReferenceReport, ReviewerRecord, StudyRecord
from storage.repo.base import Database, NotFoundError, insert_ignore
from storage.worklist import STATUSES, progress_query, study_query

if TYPE_CHECKING:
    from viewer.records import Study

_STUDIES = table(StudyRow)
_REFERENCES = table(ReferenceReportRow)
_REVIEWERS = table(Reviewer)


class Studies:
    """The ``reviewers``, ``studies``, ``assignments`` and ``reference_reports`` tables.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._reviewers: set[str] = set()  # names known to exist (reviewers are never removed)

    # -- reviewers ---------------------------------------------------------------------------

    def add_reviewer(self, name: str, display_name: str | None = None) -> ReviewerRecord:
        """Add a reviewer (idempotent: an existing name is returned unchanged)."""
        if not name or not name.strip() or len(name) > 64:
            raise ValueError(f"reviewer name must be 1-64 characters, got {name!r}")
        with self.db.write() as conn:
            insert_ignore(conn, _REVIEWERS, name=name, display_name=display_name,
                          created_at=utcnow())
        return next(r for r in self.list_reviewers() if r.name == name)

    def list_reviewers(self) -> list[ReviewerRecord]:
        """All reviewers, by name."""
        with self.db.read() as conn:
            result = conn.execute(sa.select(_REVIEWERS).order_by(_REVIEWERS.c.name))
            return [ReviewerRecord(r.name, r.display_name, r.created_at) for r in result]

    def knows_reviewer(self, name: str) -> bool:
        """True when ``name`` was already seen to exist (no query)."""
        return name in self._reviewers

    def require_reviewer(self, conn: Connection, name: str) -> None:
        """Raise :class:`NotFoundError` unless the reviewer exists."""
        if name in self._reviewers:
            return
        found = conn.execute(sa.select(Reviewer.name).where(Reviewer.name == name)).first()
        if found is None:
            raise NotFoundError(f"unknown reviewer {name!r}; add them first (repo.add_reviewer)")
        self._reviewers.add(name)

    # -- studies and worklist ----------------------------------------------------------------

    def register_study(self, study: Study, data_path: str, *,
                       prior_case_id: str | None = None) -> StudyRecord:
        """Register a study (idempotent on ``case_id``; see ``Repository.register_study``)."""
        _check_relative(data_path)
        with self.db.write() as conn:
            existing = self.study(conn, study.case_id)
            if existing is not None:
                if existing.kind != study.kind:
                    raise ValueError(f"case {study.case_id!r} is already registered as {existing.kind!r}, "
                                     f"not {study.kind!r}; use a different case id")
                return existing
            prior = self._resolve_prior(conn, study, prior_case_id)
            insert_ignore(  # another process may register the same case concurrently
                conn, _STUDIES, case_id=study.case_id, kind=study.kind,
                source_sha256s=[i.sha256 for i in study.images],
                data_path=data_path, indication=study.indication, prior_report=study.prior_report,
                prior_case_id=prior, meta=_study_meta(study), created_at=utcnow())
            return self._existing(conn, study.case_id)

    def _resolve_prior(self, conn: Connection, study: Study, prior_case_id: str | None) -> str | None:
        if prior_case_id is not None:
            self.require_study(conn, prior_case_id, f"prior case {prior_case_id!r} is not registered; "
                               "register it first")
            return prior_case_id
        implicit = study.prior.case_id if study.prior is not None else None
        if implicit is not None and self.study(conn, implicit) is not None:
            return str(implicit)
        return None

    def study(self, conn: Connection, case_id: str) -> StudyRecord | None:
        """The study of ``case_id`` with its derived status, ``None`` when not registered."""
        row = conn.execute(study_query(case_id=case_id)).mappings().first()
        if row is None:
            return None
        return rows.study_from_row(row, status=row["status"], assigned_to=row["assigned_to"])

    def require_study(self, conn: Connection, case_id: str,
                      message: str = "case {case_id!r} is not registered; register the study first") -> None:
        """Raise :class:`NotFoundError` (``message``, formatted with ``case_id``) unless the case exists."""
        if conn.execute(sa.select(_STUDIES.c.case_id).where(_STUDIES.c.case_id == case_id)).first() is None:
            raise NotFoundError(message.format(case_id=case_id))

    def _existing(self, conn: Connection, case_id: str) -> StudyRecord:
        record = self.study(conn, case_id)
        assert record is not None, f"case {case_id!r} vanished inside its own transaction"
        return record

    def get_study(self, case_id: str) -> StudyRecord:
        """One study with its derived status (:class:`NotFoundError` naming the case id)."""
        with self.db.read() as conn:
            record = self.study(conn, case_id)
        if record is None:
            raise NotFoundError(f"case {case_id!r} is not registered (radreview ingest PATH adds studies)")
        return record

    def list_studies(self, *, status: str | None = None, assigned_to: str | None = None,
                     search: str | None = None) -> list[StudyRecord]:
        """The worklist, oldest first, filtered by status, assignee and a search string."""
        with self.db.read() as conn:
            result = conn.execute(study_query(status=status, assigned_to=assigned_to, search=search))
            return [rows.study_from_row(r, status=r["status"], assigned_to=r["assigned_to"])
                    for r in result.mappings()]

    def assign(self, case_id: str, reviewer: str | None) -> StudyRecord:
        """Assign a case to a reviewer (``None`` unassigns); recorded as an event."""
        with self.db.write() as conn:
            self.require_study(conn, case_id, "case {case_id!r} is not registered")
            if reviewer is not None:
                self.require_reviewer(conn, reviewer)
            conn.execute(sa.insert(Assignment).values(case_id=case_id, reviewer=reviewer,
                                                      assigned_at=utcnow()))
            return self._existing(conn, case_id)

    def progress(self, reviewer: str | None = None) -> dict[str, int]:
        """Counts of studies per status (all four keys), optionally only those assigned to ``reviewer``."""
        counts = dict.fromkeys(STATUSES, 0)
        with self.db.read() as conn:
            for status, count in conn.execute(progress_query(reviewer)):
                counts[status] = int(count)
        return counts

    # -- reference reports -------------------------------------------------------------------

    def save_reference(self, case_id: str, text: str, source: tuple[str, str, int | None] = ("", "", None)
                       ) -> int:
        """Append a ground-truth report of a case (see ``Repository.save_reference``); its id."""
        if not text.strip():
            raise ValueError(f"reference report of case {case_id!r} is blank; give the report text")
        source_file, source_format, source_row = source
        with self.db.write() as conn:
            self.require_study(conn, case_id)
            return int(conn.execute(sa.insert(_REFERENCES).values(
                case_id=case_id, text=text, source_file=source_file, source_format=source_format,
                source_row=source_row, created_at=utcnow()).returning(_REFERENCES.c.id)).scalar_one())

    def references_for(self, case_id: str) -> list[ReferenceReport]:
        """The reference reports of a case, oldest first (the last one is the current reference)."""
        with self.db.read() as conn:
            found = conn.execute(sa.select(_REFERENCES).where(_REFERENCES.c.case_id == case_id)
                                 .order_by(_REFERENCES.c.created_at, _REFERENCES.c.id)).mappings().all()
        return [ReferenceReport(case_id=r["case_id"], text=r["text"], source_file=r["source_file"],
                                source_format=r["source_format"], source_row=r["source_row"], id=r["id"],
                                created_at=r["created_at"]) for r in found]


def _study_meta(study: Study) -> dict[str, str]:
    """The non-PHI meta of a study, with ``Rows``/``Columns`` of a 2D primary image (exports map boxes on
    non-square images with them) even where the reader did not record them (PNG, JPEG)."""
    meta = safe_meta(study.primary.meta)
    shape = tuple(np.shape(study.primary.pixels))
    if len(shape) == 2:
        meta.setdefault("Rows", str(int(shape[0])))
        meta.setdefault("Columns", str(int(shape[1])))
    return meta


def _check_relative(data_path: str) -> None:
    path = Path(data_path)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"data_path {data_path!r} must be relative to the data directory and stay inside it")
