"""The append-only review log: reviewer actions, the review states derived from them, signed reports.

Recording an action is one write transaction (``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL a row lock
on the draft first, so the writers of one review queue instead of racing): read the review's actions
appended since this process last looked (the derived state is cached per draft — drafts and actions
are immutable, so a cached state is always a valid prefix), check the optimistic-lock version,
validate by applying the action, append it with the next ``seq`` and commit. ``UNIQUE(draft_id, seq)``
is the database's own guard against a writer that bypassed the lock; its violation comes back as
:class:`~storage.repo.base.VersionConflict`, and the repository retries on the fresh state.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inference.records import Draft, to_dict
from storage import rows
from storage.models import ActionRow, DraftRow, SignedReport, table, utcnow
from storage.records import IMPRESSION_ID, ReviewAction, ReviewedCase, ReviewState
from storage.repo.base import Database, NotFoundError, VersionConflict
from storage.repo.drafts import CACHE_SIZE, Drafts
from storage.repo.studies import Studies
from storage.review import InvalidActionError, StaleVersionError, apply_action, check_version, initial_state
from viewer.cache import LruCache

_ACTIONS = table(ActionRow)
_SIGNED = table(SignedReport)
_DRAFTS = table(DraftRow)
SEQ_CONSTRAINT = "uq_review_actions_draft_id_seq"
_SEQ_RETRIES = 5
# Statements built once so SQLAlchemy's compiled cache is hit without rebuilding them.
_NEW_ACTIONS = (sa.select(_ACTIONS)
                .where(_ACTIONS.c.draft_id == sa.bindparam("draft_id"), _ACTIONS.c.seq >= sa.bindparam("seq"))
                .order_by(_ACTIONS.c.seq))
_INSERT_ACTION = sa.insert(_ACTIONS).returning(_ACTIONS.c.id)
# PostgreSQL: queue the writers of one review on its draft row (FOR NO KEY UPDATE does not block the
# foreign-key checks of inserts that reference the draft). SQLite: BEGIN IMMEDIATE already serialises.
_LOCK_REVIEW = (sa.select(_DRAFTS.c.id).where(_DRAFTS.c.id == sa.bindparam("draft_id"))
                .with_for_update(key_share=True))


def is_seq_conflict(exc: sa.exc.IntegrityError) -> bool:
    """True when the refused constraint is ``UNIQUE(review_actions.draft_id, seq)``, from the driver's codes.

    PostgreSQL (psycopg) names the violated constraint (``diag.constraint_name``). SQLite reports only
    the constraint kind (``sqlite_errorname``), and ``SQLITE_CONSTRAINT_UNIQUE`` has one source in
    ``review_actions``: ``id`` is the ``INTEGER PRIMARY KEY`` (``SQLITE_CONSTRAINT_PRIMARYKEY``), the
    vocabulary checks, foreign keys and append-only triggers have codes of their own.
    """
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) == SEQ_CONSTRAINT
    return getattr(exc.orig, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_UNIQUE"


def append_action(conn: Connection, values: Mapping[str, Any]) -> int:
    """Insert one ``review_actions`` row (all columns but ``id``) in ``conn``'s transaction; its id.

    Raises:
        VersionConflict: ``UNIQUE(draft_id, seq)`` refused the row (another writer took that ``seq``).
        sqlalchemy.exc.IntegrityError: any other constraint refused it.
    """
    try:
        return int(conn.execute(_INSERT_ACTION, dict(values)).scalar_one())
    except sa.exc.IntegrityError as exc:
        if is_seq_conflict(exc):
            raise VersionConflict(f"seq {values['seq']} of draft {values['draft_id']!r} is taken") from exc
        raise


class ReviewLog:
    """The ``review_actions`` and ``signed_reports`` tables and the review states derived from them.

    Args:
        db: The database.
        drafts: The drafts (a review is on one draft).
        studies: The studies (reviewers must exist; :meth:`reviewed_cases` walks the worklist).
    """

    def __init__(self, db: Database, drafts: Drafts, studies: Studies) -> None:
        self.db = db
        self.drafts = drafts
        self.studies = studies
        self.states: LruCache[ReviewState] = LruCache(max_items=CACHE_SIZE)  # draft id -> committed state
        self._newer = threading.Lock()  # makes "put only when newer" one step

    # -- derived state -----------------------------------------------------------------------

    def state(self, conn: Connection, draft_id: str) -> ReviewState:
        """The committed review state of a draft, reading only actions newer than the cached state."""
        state = self.states.get(draft_id)
        if state is None:
            draft, kind = self.drafts.draft(conn, draft_id)
            state = initial_state(draft, draft_id, kind)
        new_rows = conn.execute(_NEW_ACTIONS, {"draft_id": draft_id, "seq": state.version}).mappings().all()
        if not new_rows:
            return state  # nothing appended since (the common case)
        for row in new_rows:
            action = rows.action_from_row(row)
            state = apply_action(state, action, self._regen_drafts(conn, action))
        self._remember(state)
        return state

    def _regen_drafts(self, conn: Connection, action: ReviewAction) -> dict[str, Draft]:
        if action.kind != "regenerate" or not action.new_draft_id:
            return {}
        try:
            draft = self.drafts.draft(conn, action.new_draft_id)[0]
        except NotFoundError:
            return {}
        if draft.case_id != action.case_id:
            raise InvalidActionError(f"regenerate refers to draft {action.new_draft_id!r} of case "
                                     f"{draft.case_id!r}, not {action.case_id!r}")
        return {action.new_draft_id: draft}

    def _remember(self, state: ReviewState) -> None:
        with self._newer:
            cached = self.states.get(state.draft_id)
            if cached is None or cached.version < state.version:
                self.states.put(state.draft_id, state)

    def review_draft_id(self, conn: Connection, case_id: str) -> str | None:
        """The draft a case's review is on: that of its latest action, else its newest draft."""
        acted = conn.execute(sa.select(_ACTIONS.c.draft_id).where(_ACTIONS.c.case_id == case_id)
                             .order_by(_ACTIONS.c.id.desc()).limit(1)).scalar()
        return str(acted) if acted is not None else self.drafts.newest_id(conn, case_id)

    def review_state(self, case_id: str, draft_id: str | None = None) -> ReviewState:
        """The current review of a case; see :meth:`storage.repository.Repository.review_state`."""
        with self.db.read() as conn:
            draft_id = draft_id or self.review_draft_id(conn, case_id)
            if draft_id is None:
                raise NotFoundError(f"case {case_id!r} has no draft yet; generate one first")
            state = self.state(conn, draft_id)
        if state.case_id != case_id:
            raise NotFoundError(f"draft {draft_id!r} belongs to case {state.case_id!r}, not {case_id!r}")
        return state

    # -- appending ---------------------------------------------------------------------------

    def record_action(self, action: ReviewAction) -> ReviewAction:
        """Validate and append one action; see :meth:`storage.repository.Repository.record_action`."""
        if action.acted_at is None:
            action = dataclasses.replace(action, acted_at=utcnow())
        if action.kind == "add" and not action.finding_id:
            action = dataclasses.replace(action, finding_id=f"r-{uuid.uuid4().hex[:12]}")
        for attempt in range(_SEQ_RETRIES):
            try:
                return self._append(action)
            except VersionConflict as exc:  # another writer took the seq: retry on the fresh state
                if attempt == _SEQ_RETRIES - 1:
                    raise StaleVersionError(f"case {action.case_id!r} is being changed by others right now; "
                                            "reload and retry") from exc
            except sa.exc.IntegrityError as exc:
                raise InvalidActionError(f"the database refused the action: {exc.orig}") from exc
        raise AssertionError("unreachable")

    def _append(self, action: ReviewAction) -> ReviewAction:
        """One write transaction: lock, fresh state, validation, insert (+ signed report), commit."""
        with self.db.write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(_LOCK_REVIEW, {"draft_id": action.draft_id})
            state = self.state(conn, action.draft_id)
            _check_case(state, action)
            self.studies.require_reviewer(conn, action.reviewer)
            new_state, values = _validated(state, action, self._regen_drafts(conn, action))
            stored = dataclasses.replace(action, id=append_action(conn, values))
            if action.kind == "sign":
                _insert_signed(conn, new_state, stored)
        self._remember(dataclasses.replace(new_state, actions=(*state.actions, stored)))
        return stored

    # -- reading the log ---------------------------------------------------------------------

    def reviewed_cases(self, *, signed_only: bool = True) -> Iterator[ReviewedCase]:
        """Each case with its study, the draft under review and the derived state, oldest first."""
        for study in self.studies.list_studies(status="signed" if signed_only else None):
            with self.db.read() as conn:
                draft_id = _signed_draft_id(conn, study.case_id) if signed_only else \
                    self.review_draft_id(conn, study.case_id)
                if draft_id is None:
                    continue
                state = self.state(conn, draft_id)
                draft = self.drafts.with_artefacts(self.drafts.draft(conn, draft_id)[0])
            yield ReviewedCase(study=study, draft=draft, state=state)


def _signed_draft_id(conn: Connection, case_id: str) -> str | None:
    t = _SIGNED.c
    found = conn.execute(sa.select(t.draft_id).where(t.case_id == case_id)
                         .order_by(t.action_id.desc()).limit(1)).scalar()
    return None if found is None else str(found)


def _insert_signed(conn: Connection, state: ReviewState, action: ReviewAction) -> None:
    conn.execute(sa.insert(_SIGNED).values(
        action_id=action.id, case_id=state.case_id, draft_id=state.draft_id, reviewer=action.reviewer,
        signed_at=action.acted_at, text=state.current_text(),
        sections=[to_dict(s) for s in state.sections()]))


def _check_case(state: ReviewState, action: ReviewAction) -> None:
    if state.case_id != action.case_id:
        raise InvalidActionError(f"draft {action.draft_id!r} belongs to case {state.case_id!r}, "
                                 f"not {action.case_id!r}")


def _validated(state: ReviewState, action: ReviewAction,
               regen_drafts: Mapping[str, Draft]) -> tuple[ReviewState, dict[str, Any]]:
    """Check and apply ``action`` to the committed ``state``: the next state and the row to append.

    Raises:
        InvalidActionError: wrong case, unknown finding, or the action does not fit.
        StaleVersionError: the optimistic-lock check failed.
    """
    _check_case(state, action)
    try:
        check_version(state, action)
    except KeyError as exc:
        raise InvalidActionError(str(exc).strip("'\"")) from None
    new_state = apply_action(state, action, regen_drafts)
    version = _finding_version(new_state, action.finding_id)
    return new_state, rows.action_values(action, seq=state.version, finding_version=version)


def _finding_version(state: ReviewState, finding_id: str | None) -> int | None:
    """The version of the finding (or the impression) an action touched, ``None`` for case actions."""
    if not finding_id:
        return None
    if finding_id == IMPRESSION_ID:
        return state.impression_version
    return state.state_of(finding_id).version
