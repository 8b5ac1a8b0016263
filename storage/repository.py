"""The repository: records in, records out; every reviewer action is one committed transaction.

``Repository.open(url, data_dir)`` migrates the database to the newest schema and returns a
repository bound to one engine. No ORM object leaves this package.

Recording an action (:meth:`Repository.record_action`) is one write transaction (``BEGIN IMMEDIATE``
on SQLite): read the review's actions appended since this process last looked (the derived state is
cached per draft — drafts and actions are immutable, so a cached state is always a valid prefix),
check the optimistic-lock version, validate by applying the action, append it with the next
``seq`` and commit. On PostgreSQL the transaction first takes a row lock on the draft, so writers of
one review queue instead of racing. Either way ``UNIQUE(draft_id, seq)`` rejects a second writer that
read the same version; that writer retries on the fresh state and gets :class:`StaleVersionError`
when the other action touched the same finding (or the case, for ``sign``/``regenerate``).

On SQLite the common case — this process already holds the review's state — runs the same
transaction straight on the pooled ``sqlite3`` connection: ``BEGIN IMMEDIATE``, ``max(seq)`` of the
draft (equal to the cached version means nobody else appended), validation, one ``INSERT`` with
parameters from the column types' own bind processors, ``COMMIT``. Anything else (a cold cache,
another writer's actions, ``sign``/``regenerate``) takes the SQLAlchemy path.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from inference.records import Draft, draft_from_json, to_dict, to_json
from storage import migrate, rows
from storage.artefacts import ArtefactStore, LazyArtefacts
from storage.deid import safe_meta
from storage.engine import WRITE, WriteGate, create_engine, sqlite_url
from storage.models import (
    ActionRow,
    ArtefactRow,
    Assignment,
    DraftFinding,
    DraftRow,
    ReferenceReportRow,
    Reviewer,
    SignedReport,
    StudyRow,
    utcnow,
)
from storage.records import (
    IMPRESSION_ID,
    ReferenceReport,
    ReviewAction,
    ReviewedCase,
    ReviewerRecord,
    ReviewState,
    StudyRecord,
)
from storage.review import InvalidActionError, StaleVersionError, apply_action, check_version, initial_state
from storage.worklist import STATUSES, progress_query, study_query

_T_ACTIONS = cast(sa.Table, ActionRow.__table__)
_T_DRAFTS = cast(sa.Table, DraftRow.__table__)
_T_STUDIES = cast(sa.Table, StudyRow.__table__)
_SEQ_RETRIES = 5
# Hot-path statements, built once so SQLAlchemy's compiled cache is hit without rebuilding them.
_NEW_ACTIONS = (sa.select(_T_ACTIONS)
                .where(_T_ACTIONS.c.draft_id == sa.bindparam("draft_id"),
                       _T_ACTIONS.c.seq >= sa.bindparam("seq"))
                .order_by(_T_ACTIONS.c.seq))
_INSERT_ACTION = sa.insert(_T_ACTIONS).returning(_T_ACTIONS.c.id)
_MAX_SEQ = "SELECT max(seq) FROM review_actions WHERE draft_id = ?"
# PostgreSQL: queue the writers of one review on its draft row (FOR NO KEY UPDATE does not block the
# foreign-key checks of inserts that reference the draft). SQLite renders no FOR clause: BEGIN
# IMMEDIATE already serialises writers there.
_LOCK_REVIEW = (sa.select(_T_DRAFTS.c.id).where(_T_DRAFTS.c.id == sa.bindparam("draft_id"))
                .with_for_update(key_share=True))


_CACHE_SIZE = 1024
_V = TypeVar("_V")


class _Lru(Generic[_V]):
    """A small least-recently-used map (the caller holds the repository's lock)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, _V] = OrderedDict()

    def get(self, key: str) -> _V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: _V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class _SqliteActions:
    """The two hot statements of :meth:`Repository.record_action` straight on the ``sqlite3`` connection.

    SQLAlchemy's execution context costs ~0.2 ms per statement, more than SQLite needs for the
    statement itself. Parameters still go through each column type's own bind processor for this
    dialect (JSON serialisation, :class:`~storage.models.UTCDateTime`, the SQLite datetime format),
    so a row appended here is byte-identical to one appended through SQLAlchemy, and ``sqlite3``
    errors come back as SQLAlchemy's (``IntegrityError`` for the ``UNIQUE(draft_id, seq)`` race).
    The statements run inside the caller's SQLAlchemy transaction (``BEGIN IMMEDIATE`` … ``COMMIT``).
    """

    def __init__(self, dialect: sa.Dialect) -> None:
        columns = [c for c in _T_ACTIONS.columns if c.name != "id"]
        self.names = tuple(c.name for c in columns)
        self.processors = tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
        # What each processor makes of None, computed once (a JSON column turns None into 'null').
        self.nones = tuple(None if p is None else p(None) for p in self.processors)
        self.sql = (f"INSERT INTO {_T_ACTIONS.name} ({', '.join(self.names)}) "
                    f"VALUES ({', '.join('?' * len(self.names))})")

    def insert(self, driver: Any, values: Mapping[str, Any]) -> int:
        """Append one ``review_actions`` row (all columns but ``id``); returns its id."""
        if set(values) != set(self.names):
            raise ValueError(f"action values must name exactly {self.names}, got {sorted(values)}")
        params = tuple(none if (v := values[n]) is None else v if p is None else p(v)
                       for n, p, none in zip(self.names, self.processors, self.nones, strict=True))
        return int(_dbapi(driver, self.sql, params).lastrowid)

    def max_seq(self, driver: Any, draft_id: str) -> int | None:
        """The highest committed ``seq`` of a draft's actions (``None`` when it has none)."""
        found = _dbapi(driver, _MAX_SEQ, (draft_id,)).fetchone()[0]
        return None if found is None else int(found)


def _driver(conn: Connection) -> Any:
    """The ``sqlite3`` connection under a SQLAlchemy connection."""
    driver = conn.connection.driver_connection
    assert driver is not None, "statement on a closed connection"
    return driver


def _dbapi(driver: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """Execute on a ``sqlite3`` connection, raising its errors as SQLAlchemy's (``IntegrityError``…)."""
    import sqlite3

    try:
        return driver.execute(sql, params)
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc


class NotFoundError(LookupError):
    """A case, draft or reviewer is not in the repository."""


def default_url(data_dir: Path) -> str:
    """The default database: ``sqlite:///<data_dir>/radreview.db``."""
    return sqlite_url(str(Path(data_dir) / "radreview.db"))


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


def _below(max_seq: int | None, version: int) -> bool:
    """True when no committed action has ``seq >= version`` (``max_seq`` is ``None`` for none)."""
    return max_seq is None or max_seq < version


def _is_seq_conflict(exc: sa.exc.IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_review_actions_draft_id_seq" in text or "review_actions.draft_id, review_actions.seq" in text


class Repository:
    """Studies, drafts and the append-only review log of one database + data directory."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.artefacts = ArtefactStore(self.data_dir)
        self._lock = threading.Lock()
        self._drafts: _Lru[tuple[Draft, str]] = _Lru(_CACHE_SIZE)  # draft id -> (draft, study kind)
        self._states: _Lru[ReviewState] = _Lru(_CACHE_SIZE)  # draft id -> committed review state
        self._reviewers: set[str] = set()
        self._gate = WriteGate(engine.url.render_as_string(hide_password=False))
        # Connections of this view carry the WRITE option (BEGIN IMMEDIATE on SQLite) from checkout,
        # which is much cheaper than setting execution options on every connection.
        self._write_engine = engine.execution_options(**WRITE)
        self._fast = _SqliteActions(engine.dialect) if engine.dialect.name == "sqlite" else None

    @classmethod
    def open(cls, url: str | None, data_dir: Path, *, synchronous: str = "FULL") -> Repository:
        """Open (creating and migrating as needed) the repository.

        Args:
            url: SQLAlchemy URL; ``None`` means ``sqlite:///<data_dir>/radreview.db``.
            data_dir: Where studies and artefacts live (created if missing).
            synchronous: SQLite only: ``FULL`` (default; a commit survives power loss) or ``NORMAL``
                (survives application crashes only; see :mod:`storage.engine`).
        """
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        url = url or default_url(data_dir)
        if not migrate.is_current(url):
            migrate.upgrade(url)
        return cls(create_engine(url, synchronous=synchronous), data_dir)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._gate(), self._write_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # -- reviewers ---------------------------------------------------------------------------

    def add_reviewer(self, name: str, display_name: str | None = None) -> ReviewerRecord:
        """Add a reviewer (idempotent: an existing name is returned unchanged)."""
        if not name or not name.strip() or len(name) > 64:
            raise ValueError(f"reviewer name must be 1-64 characters, got {name!r}")
        with self._write() as conn:
            _insert_ignore(conn, Reviewer.__table__, name=name, display_name=display_name,
                           created_at=utcnow())
        return next(r for r in self.list_reviewers() if r.name == name)

    def list_reviewers(self) -> list[ReviewerRecord]:
        """All reviewers, by name."""
        with self._read() as conn:
            result = conn.execute(sa.select(Reviewer.__table__).order_by(Reviewer.name))
            return [ReviewerRecord(r.name, r.display_name, r.created_at) for r in result]

    def _require_reviewer(self, conn: Connection, name: str) -> None:
        if name in self._reviewers:
            return
        found = conn.execute(sa.select(Reviewer.name).where(Reviewer.name == name)).first()
        if found is None:
            raise NotFoundError(f"unknown reviewer {name!r}; add them first (repo.add_reviewer)")
        self._reviewers.add(name)

    # -- studies and worklist ----------------------------------------------------------------

    def register_study(self, study: Any, data_path: str, *, prior_case_id: str | None = None) -> StudyRecord:
        """Register a study (idempotent on ``case_id``).

        Args:
            study: A :class:`viewer.records.Study` (its pixels are not stored).
            data_path: Where its files are, relative to the data directory.
            prior_case_id: The prior study's case id; defaults to ``study.prior.case_id`` when that
                case is registered.

        Raises:
            ValueError: ``data_path`` is absolute or leaves the data directory, or the case id is
                already registered with a different kind.
            NotFoundError: an explicit ``prior_case_id`` is not registered.
        """
        _check_relative(data_path)
        with self._write() as conn:
            existing = self._study(conn, study.case_id)
            if existing is not None:
                if existing.kind != study.kind:
                    raise ValueError(f"case {study.case_id!r} is already registered as {existing.kind!r}, "
                                     f"not {study.kind!r}; use a different case id")
                return existing
            prior = self._resolve_prior(conn, study, prior_case_id)
            _insert_ignore(  # another process may register the same case concurrently
                conn, _T_STUDIES, case_id=study.case_id, kind=study.kind,
                source_sha256s=[i.sha256 for i in study.images],
                data_path=data_path, indication=study.indication, prior_report=study.prior_report,
                prior_case_id=prior, meta=safe_meta(study.primary.meta), created_at=utcnow())
            record = self._study(conn, study.case_id)
        assert record is not None
        return record

    def _resolve_prior(self, conn: Connection, study: Any, prior_case_id: str | None) -> str | None:
        if prior_case_id is not None:
            if self._study(conn, prior_case_id) is None:
                raise NotFoundError(f"prior case {prior_case_id!r} is not registered; register it first")
            return prior_case_id
        implicit = study.prior.case_id if study.prior is not None else None
        if implicit is not None and self._study(conn, implicit) is not None:
            return str(implicit)
        return None

    def _study(self, conn: Connection, case_id: str) -> StudyRecord | None:
        row = conn.execute(study_query(case_id=case_id)).mappings().first()
        if row is None:
            return None
        return rows.study_from_row(row, status=row["status"], assigned_to=row["assigned_to"])

    def get_study(self, case_id: str) -> StudyRecord:
        """One study with its derived status.

        Raises:
            NotFoundError: naming the case id.
        """
        with self._read() as conn:
            record = self._study(conn, case_id)
        if record is None:
            raise NotFoundError(f"case {case_id!r} is not registered (radreview ingest PATH adds studies)")
        return record

    def list_studies(self, *, status: str | None = None, assigned_to: str | None = None,
                     search: str | None = None) -> list[StudyRecord]:
        """The worklist, oldest first, filtered by status, assignee and a search string."""
        with self._read() as conn:
            result = conn.execute(study_query(status=status, assigned_to=assigned_to, search=search))
            return [rows.study_from_row(r, status=r["status"], assigned_to=r["assigned_to"])
                    for r in result.mappings()]

    def assign(self, case_id: str, reviewer: str | None) -> StudyRecord:
        """Assign a case to a reviewer (``None`` unassigns); recorded as an event."""
        with self._write() as conn:
            if self._study(conn, case_id) is None:
                raise NotFoundError(f"case {case_id!r} is not registered")
            if reviewer is not None:
                self._require_reviewer(conn, reviewer)
            conn.execute(sa.insert(Assignment).values(
                case_id=case_id, reviewer=reviewer, assigned_at=utcnow()))
            record = self._study(conn, case_id)
        assert record is not None
        return record

    def progress(self, reviewer: str | None = None) -> dict[str, int]:
        """Counts of studies per status (all four keys), optionally only those assigned to ``reviewer``."""
        counts = dict.fromkeys(STATUSES, 0)
        with self._read() as conn:
            for status, count in conn.execute(progress_query(reviewer)):
                counts[status] = int(count)
        return counts

    # -- drafts and artefacts ----------------------------------------------------------------

    def save_draft(self, draft: Draft) -> str:
        """Store an immutable draft and its artefacts; returns the new draft id.

        Arrays in ``draft.artefacts`` are written (content-addressed) before the transaction that
        records the draft commits, so a committed draft never points at a missing file.

        Raises:
            NotFoundError: the case is not registered.
            ValueError: a grounding references an artefact that is neither in ``draft.artefacts``
                nor already stored.
        """
        kinds = rows.artefact_kinds(draft)
        draft_id = uuid.uuid4().hex
        text = to_json(draft)
        for ref, array in draft.artefacts.items():
            self.artefacts.save(ref, array)
        with self._write() as conn:
            if self._study(conn, draft.case_id) is None:
                raise NotFoundError(f"case {draft.case_id!r} is not registered; register the study first")
            self._record_artefacts(conn, draft, kinds)
            prov = draft.provenance
            conn.execute(sa.insert(_T_DRAFTS).values(
                id=draft_id, case_id=draft.case_id, generator=prov.generator, model_id=prov.model_id,
                provenance=to_dict(prov), draft_json=text, latency_s=dict(draft.latency_s),
                created_at=utcnow()))
            findings = rows.finding_values(draft_id, draft)
            if findings:
                conn.execute(sa.insert(DraftFinding), findings)
        return draft_id

    def _record_artefacts(self, conn: Connection, draft: Draft, kinds: Mapping[str, str]) -> None:
        refs = set(kinds) | set(draft.artefacts)
        if not refs:
            return
        known = set(conn.execute(sa.select(ArtefactRow.ref).where(ArtefactRow.ref.in_(refs))).scalars())
        for ref in sorted(refs - known):
            if ref not in draft.artefacts:
                raise ValueError(f"draft of case {draft.case_id!r} references artefact {ref} but neither "
                                 "draft.artefacts nor the store has it; put the array in Draft.artefacts")
            array = draft.artefacts[ref]
            _insert_ignore(conn, ArtefactRow.__table__, ref=ref, kind=kinds.get(ref, "array"),
                           path=self.artefacts.relative_path(ref), shape=list(array.shape),
                           dtype=array.dtype.str, nbytes=int(array.nbytes), created_at=utcnow())

    def _draft(self, conn: Connection, draft_id: str) -> tuple[Draft, str]:
        with self._lock:
            cached = self._drafts.get(draft_id)
        if cached is not None:
            return cached
        row = conn.execute(
            sa.select(_T_DRAFTS.c.draft_json, _T_STUDIES.c.kind)
            .join(_T_STUDIES, _T_STUDIES.c.case_id == _T_DRAFTS.c.case_id)
            .where(_T_DRAFTS.c.id == draft_id)).first()
        if row is None:
            raise NotFoundError(f"draft {draft_id!r} is not in the repository")
        loaded = (draft_from_json(row.draft_json), str(row.kind))
        with self._lock:
            self._drafts.put(draft_id, loaded)
        return loaded

    def _with_artefacts(self, draft: Draft) -> Draft:
        refs = tuple(rows.artefact_kinds(draft))
        return dataclasses.replace(draft, artefacts=LazyArtefacts(self.artefacts, refs))

    def get_draft(self, draft_id: str) -> Draft:
        """A stored draft; its ``artefacts`` mapping loads arrays from the store on access."""
        with self._read() as conn:
            draft, _kind = self._draft(conn, draft_id)
        return self._with_artefacts(draft)

    def drafts_for(self, case_id: str) -> list[tuple[str, Draft]]:
        """All drafts of a case, oldest first, as ``(draft_id, draft)``."""
        with self._read() as conn:
            ids = conn.execute(sa.select(_T_DRAFTS.c.id).where(_T_DRAFTS.c.case_id == case_id)
                               .order_by(_T_DRAFTS.c.created_at, _T_DRAFTS.c.id)).scalars().all()
            return [(i, self._with_artefacts(self._draft(conn, i)[0])) for i in ids]

    def latest_draft(self, case_id: str) -> tuple[str, Draft] | None:
        """The newest draft of a case as ``(draft_id, draft)``, or ``None`` when it has none."""
        drafts = self.drafts_for(case_id)
        return drafts[-1] if drafts else None

    # -- reference reports -------------------------------------------------------------------

    def save_reference(self, case_id: str, text: str, source: tuple[str, str, int | None] = ("", "", None)
                       ) -> int:
        """Append a ground-truth report of a case; returns its id (references are never changed).

        Args:
            case_id: A registered case.
            text: The reference report, verbatim (must not be blank).
            source: ``(file name, import format, 1-based row or None)`` it was read from.

        Raises:
            NotFoundError: the case is not registered.
            ValueError: the text is blank.
        """
        if not text.strip():
            raise ValueError(f"reference report of case {case_id!r} is blank; give the report text")
        source_file, source_format, source_row = source
        with self._write() as conn:
            if self._study(conn, case_id) is None:
                raise NotFoundError(f"case {case_id!r} is not registered; register the study first")
            return int(conn.execute(sa.insert(ReferenceReportRow).values(
                case_id=case_id, text=text, source_file=source_file, source_format=source_format,
                source_row=source_row, created_at=utcnow()).returning(ReferenceReportRow.id)).scalar_one())

    def references_for(self, case_id: str) -> list[ReferenceReport]:
        """The reference reports of a case, oldest first (the last one is the current reference)."""
        table = ReferenceReportRow.__table__
        with self._read() as conn:
            found = conn.execute(sa.select(table).where(table.c.case_id == case_id)
                                 .order_by(table.c.created_at, table.c.id)).mappings().all()
        return [ReferenceReport(case_id=r["case_id"], text=r["text"], source_file=r["source_file"],
                                source_format=r["source_format"], source_row=r["source_row"], id=r["id"],
                                created_at=r["created_at"]) for r in found]

    def load_artefact(self, ref: str) -> np.ndarray:
        """The array stored under a content reference (hash verified)."""
        return self.artefacts.load(ref)

    # -- review ------------------------------------------------------------------------------

    def _state(self, conn: Connection, draft_id: str) -> ReviewState:
        """The committed review state of a draft, reading only actions newer than the cached state."""
        with self._lock:
            state = self._states.get(draft_id)
        if state is None:
            draft, kind = self._draft(conn, draft_id)
            state = initial_state(draft, draft_id, kind)
        elif self._fast is not None and _below(self._fast.max_seq(_driver(conn), draft_id), state.version):
            return state  # nothing appended since: skip the full query (the common case)
        new_rows = conn.execute(_NEW_ACTIONS, {"draft_id": draft_id, "seq": state.version}).mappings().all()
        for row in new_rows:
            action = rows.action_from_row(row)
            state = apply_action(state, action, self._regen_drafts(conn, action))
        self._remember(state)
        return state

    def _regen_drafts(self, conn: Connection, action: ReviewAction) -> dict[str, Draft]:
        if action.kind != "regenerate" or not action.new_draft_id:
            return {}
        try:
            draft = self._draft(conn, action.new_draft_id)[0]
        except NotFoundError:
            return {}
        if draft.case_id != action.case_id:
            raise InvalidActionError(f"regenerate refers to draft {action.new_draft_id!r} of case "
                                     f"{draft.case_id!r}, not {action.case_id!r}")
        return {action.new_draft_id: draft}

    def _remember(self, state: ReviewState) -> None:
        with self._lock:
            cached = self._states.get(state.draft_id)
            if cached is None or cached.version < state.version:
                self._states.put(state.draft_id, state)

    def _review_draft_id(self, conn: Connection, case_id: str) -> str | None:
        """The draft a case's review is on: that of its latest action, else its newest draft."""
        acted = conn.execute(sa.select(_T_ACTIONS.c.draft_id).where(_T_ACTIONS.c.case_id == case_id)
                             .order_by(_T_ACTIONS.c.id.desc()).limit(1)).scalar()
        if acted is not None:
            return str(acted)
        d = _T_DRAFTS.c
        newest = conn.execute(sa.select(d.id).where(d.case_id == case_id)
                              .order_by(d.created_at.desc(), d.id.desc()).limit(1)).scalar()
        return None if newest is None else str(newest)

    def review_state(self, case_id: str, draft_id: str | None = None) -> ReviewState:
        """The current review of a case, derived from its draft and actions.

        Args:
            case_id: The case.
            draft_id: The draft under review; by default the one the latest action refers to, or
                the newest draft when nothing was recorded yet.

        Raises:
            NotFoundError: the case has no draft (or ``draft_id`` belongs to another case).
        """
        with self._read() as conn:
            draft_id = draft_id or self._review_draft_id(conn, case_id)
            if draft_id is None:
                raise NotFoundError(f"case {case_id!r} has no draft yet; generate one first")
            state = self._state(conn, draft_id)
        if state.case_id != case_id:
            raise NotFoundError(f"draft {draft_id!r} belongs to case {state.case_id!r}, not {case_id!r}")
        return state

    def record_action(self, action: ReviewAction) -> ReviewAction:
        """Validate and append one action in its own committed transaction.

        Returns:
            The stored action, with ``id``, ``acted_at`` (when it was ``None``) and, for ``add``
            without one, a generated ``finding_id``.

        Raises:
            StaleVersionError: someone changed the finding (or case) since ``base_version``.
            InvalidActionError: the action does not fit the current review.
            NotFoundError: unknown draft or reviewer.
            Nothing is written when any of these is raised.
        """
        if action.acted_at is None:
            action = dataclasses.replace(action, acted_at=utcnow())
        if action.kind == "add" and not action.finding_id:
            action = dataclasses.replace(action, finding_id=f"r-{uuid.uuid4().hex[:12]}")
        for attempt in range(_SEQ_RETRIES):
            try:
                return self._append(action)
            except sa.exc.IntegrityError as exc:
                if not _is_seq_conflict(exc):
                    raise InvalidActionError(f"the database refused the action: {exc.orig}") from exc
                if attempt == _SEQ_RETRIES - 1:
                    raise StaleVersionError(
                        f"case {action.case_id!r} is being changed by others right now; reload and retry"
                    ) from exc
        raise AssertionError("unreachable")

    def _append(self, action: ReviewAction) -> ReviewAction:
        stored = self._append_hot(action) if self._fast is not None else None
        return stored if stored is not None else self._append_general(action)

    def _append_hot(self, action: ReviewAction) -> ReviewAction | None:
        """SQLite with the review's state cached: the transaction straight on the ``sqlite3`` connection.

        The same transaction as :meth:`_append_general` (``BEGIN IMMEDIATE``, the newest ``seq``
        compared with the cached state, validation, insert, ``COMMIT``) without SQLAlchemy's
        per-connection and per-statement machinery. Returns ``None``, having written nothing, when the
        general path must run: a cold cache, an unseen reviewer, ``sign``/``regenerate`` (they read
        or write more), or actions appended by another writer since the state was cached.
        """
        with self._lock:
            state = self._states.get(action.draft_id)
        if state is None or action.reviewer not in self._reviewers or action.kind in ("sign", "regenerate"):
            return None
        assert self._fast is not None
        with self._raw_write() as driver:
            if not _below(self._fast.max_seq(driver, action.draft_id), state.version):
                return None  # another writer appended: the general path replays its actions
            new_state, values = _validated(state, action, {})
            action_id = self._fast.insert(driver, values)
        return self._stored(state, new_state, action, action_id)

    def _append_general(self, action: ReviewAction) -> ReviewAction:
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(_LOCK_REVIEW, {"draft_id": action.draft_id})
            state = self._state(conn, action.draft_id)
            _check_case(state, action)
            self._require_reviewer(conn, action.reviewer)
            new_state, values = _validated(state, action, self._regen_drafts(conn, action))
            if self._fast is not None:
                action_id = self._fast.insert(_driver(conn), values)
            else:
                action_id = conn.execute(_INSERT_ACTION, values).scalar_one()
            stored = dataclasses.replace(action, id=int(action_id))
            if action.kind == "sign":
                self._insert_signed(conn, new_state, stored)
        return self._stored(state, new_state, action, action_id)

    def _stored(self, state: ReviewState, new_state: ReviewState, action: ReviewAction,
                action_id: int) -> ReviewAction:
        """The committed action with its id; caches the state it leads to."""
        stored = dataclasses.replace(action, id=int(action_id))
        self._remember(dataclasses.replace(new_state, actions=(*state.actions, stored)))
        return stored

    @contextmanager
    def _raw_write(self) -> Iterator[Any]:
        """SQLite: ``BEGIN IMMEDIATE`` … ``COMMIT`` on a pooled ``sqlite3`` connection (rollback on error)."""
        with self._gate():
            pooled = self._write_engine.raw_connection()
            try:
                driver = pooled.driver_connection
                assert driver is not None, "pool returned a closed connection"
                _dbapi(driver, "BEGIN IMMEDIATE")
                try:
                    yield driver
                except BaseException:
                    driver.rollback()
                    raise
                _dbapi(driver, "COMMIT")
            finally:
                pooled.close()

    def _insert_signed(self, conn: Connection, state: ReviewState, action: ReviewAction) -> None:
        conn.execute(sa.insert(SignedReport).values(
            action_id=action.id, case_id=state.case_id, draft_id=state.draft_id, reviewer=action.reviewer,
            signed_at=action.acted_at, text=state.current_text(),
            sections=[to_dict(s) for s in state.sections()]))

    def reviewed_cases(self, *, signed_only: bool = True) -> Iterator[ReviewedCase]:
        """Each case with its study, the draft under review and the derived state, oldest first.

        Args:
            signed_only: Only signed cases (the draft is the one that was signed).
        """
        for study in self.list_studies(status="signed" if signed_only else None):
            with self._read() as conn:
                draft_id = self._signed_draft_id(conn, study.case_id) if signed_only else \
                    self._review_draft_id(conn, study.case_id)
                if draft_id is None:
                    continue
                state = self._state(conn, draft_id)
                draft = self._with_artefacts(self._draft(conn, draft_id)[0])
            yield ReviewedCase(study=study, draft=draft, state=state)

    def _signed_draft_id(self, conn: Connection, case_id: str) -> str | None:
        t = SignedReport.__table__.c
        found = conn.execute(sa.select(t.draft_id).where(t.case_id == case_id)
                             .order_by(t.action_id.desc()).limit(1)).scalar()
        return None if found is None else str(found)


def _insert_ignore(conn: Connection, table: Any, **values: Any) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL): idempotent under concurrency."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _check_relative(data_path: str) -> None:
    path = Path(data_path)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"data_path {data_path!r} must be relative to the data directory and stay inside it")
