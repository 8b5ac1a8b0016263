"""Database engines: SQLite tuned for many concurrent reviewers, PostgreSQL unchanged.

SQLite connections get, on connect:

* ``journal_mode=WAL`` — readers never block the writer and the writer never blocks readers;
* ``busy_timeout`` — a writer waits for the lock instead of failing with ``SQLITE_BUSY``;
* ``foreign_keys=ON`` — SQLite enforces references only when asked;
* ``synchronous=FULL`` — in WAL mode ``NORMAL`` survives an application crash but may lose the last
  transactions on power loss or an OS crash; a reviewer's decision is confirmed in the UI only after
  its commit, so we pay one WAL fsync per commit to make "confirmed" mean "on disk" (measured by
  ``radreview bench storage``).

Transactions: :mod:`sqlite3`'s own implicit ``BEGIN`` is switched off (the SQLAlchemy pysqlite recipe,
"Using SQLAlchemy to emit BEGIN in lieu of SQLite's transaction control") and a ``begin`` event emits
``BEGIN`` ourselves — ``BEGIN IMMEDIATE`` on connections marked with :data:`WRITE`, so a write
transaction takes the write lock before it reads. That avoids the deferred read→write upgrade, which
SQLite refuses with ``SQLITE_BUSY`` without waiting when another writer committed in between.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

WRITE: dict[str, Any] = {"radreview_write": True}
"""Execution options marking a connection whose transactions write (``BEGIN IMMEDIATE`` on SQLite)."""

BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str | sa.URL) -> bool:
    """True when the URL names an SQLite database."""
    return sa.make_url(url).get_backend_name() == "sqlite"


def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


def create_engine(url: str, *, foreign_keys: bool = True, synchronous: str = "FULL") -> Engine:
    """Create an engine for ``url`` with the settings described in the module docstring.

    Args:
        url: ``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db`` (anything SQLAlchemy takes).
        foreign_keys: SQLite only; migrations switch it off while batch mode rebuilds tables.
        synchronous: SQLite only; ``FULL`` (default, durable on power loss) or ``NORMAL``.

    Returns:
        The engine. PostgreSQL and other backends get SQLAlchemy's defaults.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True)
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
    engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    _install_sqlite_events(engine, foreign_keys=foreign_keys, synchronous=synchronous)
    return engine


def _install_sqlite_events(engine: Engine, *, foreign_keys: bool, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("radreview_write", False)
        # Straight to the driver (the recipe's exec_driver_sql costs a full execution context on the
        # hot path); sqlite3 still emits COMMIT/ROLLBACK itself.
        driver = conn.connection.driver_connection
        assert driver is not None, "begin on a closed connection"
        driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")


class WriteGate:
    """Queue write transactions on one SQLite file in the kernel instead of in SQLite's busy handler.

    SQLite's busy handler polls with sleeps growing to 100 ms, so under many concurrent writers the
    lock often sits idle while everyone sleeps (8 writer processes managed ~20 actions/s here). An
    exclusive ``flock`` on ``<db>.writelock``, taken before ``BEGIN IMMEDIATE`` and released after
    ``COMMIT``, makes waiting writers sleep in the kernel and wake the moment the lock is free. It is
    only a queue: SQLite's own locking still guarantees correctness (a writer that bypasses the gate
    is merely slower). A fresh file descriptor per acquisition keeps forked children independent;
    a thread lock orders the threads of one process. PostgreSQL needs no gate.
    """

    def __init__(self, url: str) -> None:
        parsed = sa.make_url(url)
        database = parsed.database or ""
        file_db = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") \
            and not database.startswith("file:")
        self.path = Path(f"{database}.writelock") if file_db else None
        self._thread_lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock
