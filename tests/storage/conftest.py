"""Storage fixtures: a repository on SQLite always, and on PostgreSQL when its binaries exist.

Migrating takes most of a fresh database's setup, so each backend is migrated once per session: SQLite
tests get a copy of a migrated file, PostgreSQL tests share one migrated database emptied with
``TRUNCATE`` before each test. ``db_url`` gives an empty, unmigrated database for the migration tests.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import migrate
from storage.repository import Repository
from tests.storage.pg_cluster import create_database, running_server

_counter = itertools.count()
_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server for the session (URL template with ``{db}``)."""
    with running_server() as template:
        yield template


@pytest.fixture(scope="session")
def pg_migrated(pg_server: str) -> str:
    """URL of a migrated PostgreSQL database shared by the session (emptied before each test)."""
    url = create_database(pg_server, "radreview_shared")
    migrate.upgrade(url)
    return url


def _truncate_all(url: str) -> None:
    import sqlalchemy as sa

    from storage.models import Base

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()


@pytest.fixture
def pg_empty(pg_migrated: str) -> str:
    """The session PostgreSQL database at the newest schema, emptied for this test."""
    _truncate_all(pg_migrated)
    return pg_migrated


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file to copy."""
    path = tmp_path_factory.mktemp("template") / "radreview.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'radreview.db'}"
    return create_database(request.getfixturevalue("pg_server"), f"t{next(_counter)}")


@pytest.fixture(params=_BACKENDS)
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database already at the newest schema (copied from the session template)."""
    if request.param == "sqlite":
        target = tmp_path / "radreview.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_migrated")
    _truncate_all(url)
    return url


@pytest.fixture
def repo(migrated_url: str, tmp_path: Path) -> Iterator[Repository]:
    """A repository with reviewers ``ana`` and ``ben``."""
    repository = Repository.open(migrated_url, tmp_path / "data")
    repository.add_reviewer("ana", "Ana A.")
    repository.add_reviewer("ben")
    yield repository
    repository.close()
