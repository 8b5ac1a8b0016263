"""Storage fixtures: a repository on SQLite always, and on PostgreSQL when its binaries exist."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from postgres import create_database, running_server

from storage.repository import Repository

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server for the session (URL template with ``{db}``)."""
    with running_server() as template:
        yield template


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'radreview.db'}"
    template = request.getfixturevalue("pg_server")
    return create_database(template, f"t{next(_counter)}")


@pytest.fixture
def repo(db_url: str, tmp_path: Path) -> Iterator[Repository]:
    """A migrated repository with reviewers ``ana`` and ``ben``."""
    repository = Repository.open(db_url, tmp_path / "data")
    repository.add_reviewer("ana", "Ana A.")
    repository.add_reviewer("ben")
    yield repository
    repository.close()
