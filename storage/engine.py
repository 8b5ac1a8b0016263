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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
