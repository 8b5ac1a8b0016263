"""Worklist queries: a study's status and assignee derived in SQL from append-only rows.

Status (never stored): ``signed`` when a signed report exists, else ``in_review`` when any action was
recorded, else ``drafted`` when a draft exists, else ``new``. The assignee is the reviewer of the
latest assignment event (``None`` after an unassignment).
"""

from __future__ import annotations

from typing import Any, get_args

import sqlalchemy as sa

from storage.models import ActionRow, Assignment, DraftRow, SignedReport, StudyRow
from storage.records import StudyStatus

STATUSES: tuple[str, ...] = get_args(StudyStatus)


def status_expr() -> sa.ColumnElement[str]:
    """A SQL expression giving each ``studies`` row its status."""
    case_id = StudyRow.__table__.c.case_id

    def exists(table: Any) -> sa.Exists:
        return sa.exists().where(table.__table__.c.case_id == case_id)

    return sa.case(
        (exists(SignedReport), "signed"),
        (exists(ActionRow), "in_review"),
        (exists(DraftRow), "drafted"),
        else_="new",
    )


def assignee_expr() -> sa.ScalarSelect[Any]:
    """A correlated subquery giving each ``studies`` row its current assignee."""
    a = Assignment.__table__.c
    return (sa.select(a.reviewer).where(a.case_id == StudyRow.__table__.c.case_id)
            .order_by(a.id.desc()).limit(1).scalar_subquery())


def study_query(*, status: str | None = None, assigned_to: str | None = None,
                search: str | None = None, case_id: str | None = None) -> sa.Select[Any]:
    """Studies with ``status`` and ``assigned_to`` columns, filtered, oldest first.

    Args:
        status: One of :data:`STATUSES`.
        assigned_to: Reviewer name.
        search: Case-insensitive substring of the case id or the indication.
        case_id: One case only.

    Raises:
        ValueError: an unknown status.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    s = StudyRow.__table__.c
    inner = sa.select(*s, status_expr().label("status"), assignee_expr().label("assigned_to")).subquery()
    query = sa.select(inner).order_by(inner.c.created_at, inner.c.case_id)
    if case_id is not None:
        query = query.where(inner.c.case_id == case_id)
    if status is not None:
        query = query.where(inner.c.status == status)
    if assigned_to is not None:
        query = query.where(inner.c.assigned_to == assigned_to)
    if search:  # a literal substring: % and _ in the search text are escaped, not wildcards
        needle = search.lower()
        query = query.where(sa.or_(
            sa.func.lower(inner.c.case_id).contains(needle, autoescape=True),
            sa.func.lower(sa.func.coalesce(inner.c.indication, "")).contains(needle, autoescape=True)))
    return query


def progress_query(assigned_to: str | None = None) -> sa.Select[Any]:
    """``(status, count)`` rows over all studies (or those assigned to one reviewer)."""
    inner = study_query(assigned_to=assigned_to).subquery()
    return sa.select(inner.c.status, sa.func.count()).group_by(inner.c.status)
