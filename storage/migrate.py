"""Run the Alembic migrations shipped inside the package, programmatically.

``upgrade(url)`` / ``downgrade(url, revision)`` work on SQLite and PostgreSQL. On SQLite the migration
runs in one ``BEGIN IMMEDIATE`` transaction with foreign keys off (batch mode rebuilds tables, which
foreign-key enforcement would break) and ``PRAGMA foreign_key_check`` must come back empty before it
commits. On PostgreSQL a transaction-scoped advisory lock serialises concurrent upgraders, so
many processes may open a repository at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.engine import WRITE, create_engine, is_sqlite

if TYPE_CHECKING:
    from alembic.config import Config

SCHEMA_REVISION = "0005"
"""The newest revision shipped (a test checks it is Alembic's head). Lets :func:`is_current` answer
without importing Alembic, which is most of a repository's start-up time."""

_LOCK_ID = 0x7261_6472  # "radr": the advisory lock held by a PostgreSQL upgrader


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (it was rolled back)."""


def config() -> Config:
    """An Alembic config pointing at ``storage/migrations`` (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def head() -> str:
    """The newest revision shipped with this package (read from the migration scripts)."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(conn: Connection) -> str | None:
    """The revision a database is at (``None`` when never migrated)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(revisions) > 1:
        raise MigrationError(f"database has several Alembic heads {revisions}; "
                             "resolve them with `alembic merge`")
    return str(revisions[0]) if revisions else None


def _run(url: str, action: str, revision: str) -> None:
    from alembic import command

    engine = create_engine(url, foreign_keys=False)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**WRITE)
            with conn.begin():
                if not is_sqlite(url):
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
                cfg = config()
                cfg.attributes["connection"] = conn
                getattr(command, action)(cfg, revision)
                if is_sqlite(url):
                    _check_foreign_keys(conn)
    finally:
        engine.dispose()


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise MigrationError(f"migration rolled back: {len(broken)} broken foreign key(s), first {broken[0]}")


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    _run(url, "upgrade", revision)


def downgrade(url: str, revision: str = "-1") -> None:
    """Downgrade the database at ``url`` to ``revision`` (default: one step; ``base`` drops everything)."""
    _run(url, "downgrade", revision)


def is_current(url: str) -> bool:
    """True when the database is already at :data:`SCHEMA_REVISION` (cheap check before upgrading)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return current(conn) == SCHEMA_REVISION
    finally:
        engine.dispose()
