"""What every storage unit shares: one database handle with read and write transactions, and the errors.

A write transaction takes the :class:`~storage.engine.WriteGate` (SQLite: writers queue on a
``flock``) and then ``BEGIN IMMEDIATE`` (the :data:`~storage.engine.WRITE` execution option), so it
holds the database's write lock before it reads. PostgreSQL needs neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine

from storage.engine import WRITE, WriteGate


class NotFoundError(LookupError):
    """A case, draft or reviewer is not in the repository."""


class VersionConflict(Exception):
    """Another writer appended the same ``seq`` of a review first (``UNIQUE(draft_id, seq)`` refused ours).

    Raised by the review log's insert; the repository retries on the fresh state and turns a lasting
    conflict into :class:`~storage.review.StaleVersionError` for the caller.
    """


class Database:
    """One engine's read and write transactions.

    Args:
        engine: The engine (:func:`storage.engine.create_engine`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._gate = WriteGate(engine.url.render_as_string(hide_password=False))
        # Connections of this view carry the WRITE option (BEGIN IMMEDIATE on SQLite) from checkout,
        # which is much cheaper than setting execution options on every connection.
        self._write_engine = engine.execution_options(**WRITE)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (committed on exit, rolled back on an exception)."""
        with self._gate(), self._write_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (one consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn


def insert_ignore(conn: Connection, table: Any, *, returning: Any = None, **values: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL): idempotent under concurrency.

    Args:
        conn: A connection in a write transaction.
        table: The table.
        returning: A column to return (``None`` when the row was refused), or ``None`` for nothing.
        **values: The row.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    if returning is None:
        conn.execute(statement)
        return None
    return conn.execute(statement.returning(returning)).scalar()
