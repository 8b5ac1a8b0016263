"""SQLite engine settings, BEGIN IMMEDIATE for writers, and the write gate."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.engine import WRITE, WriteGate, create_engine


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'e.db'}"


def test_pragmas(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                      for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    finally:
        engine.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2, "busy_timeout": 30000}


def test_synchronous_normal_and_validation(url: str) -> None:
    engine = create_engine(url, synchronous="NORMAL")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="FULL or NORMAL"):
        create_engine(url, synchronous="OFF")


def test_write_transactions_take_the_lock_before_reading(url: str, tmp_path: Path) -> None:
    """A write transaction holds SQLite's RESERVED lock from BEGIN, so another writer must wait,
    while readers (WAL) go on; a plain read transaction takes no write lock."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    other = sqlite3.connect(tmp_path / "e.db", timeout=0.05, isolation_level=None)
    try:
        with engine.connect() as conn, conn.begin():  # read transaction: no write lock
            conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():  # BEGIN IMMEDIATE: the lock is ours before any statement
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)  # readers go on
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)
    finally:
        other.close()
        engine.dispose()


def test_foreign_keys_are_enforced(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE p (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("CREATE TABLE c (p INTEGER REFERENCES p(id))")
        with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"), engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO c VALUES (42)")
    finally:
        engine.dispose()


def test_write_gate_serialises_threads(tmp_path: Path) -> None:
    gate = WriteGate(f"sqlite:///{tmp_path / 'g.db'}")
    assert gate.path == tmp_path / "g.db.writelock"
    inside, overlaps = [0], []

    def work() -> None:
        for _ in range(20):
            with gate():
                inside[0] += 1
                overlaps.append(inside[0])
                time.sleep(0.0005)
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1] * 80


def test_write_gate_is_a_no_op_elsewhere() -> None:
    assert WriteGate("sqlite://").path is None
    assert WriteGate("postgresql+psycopg://u@/db?host=/tmp").path is None
    with WriteGate("sqlite://")():
        pass


def test_repository_writes_begin_immediate(tmp_path: Path) -> None:
    from storage.repository import Repository

    with Repository.open(None, tmp_path) as repo:
        other = sqlite3.connect(tmp_path / "radreview.db", timeout=0.05, isolation_level=None)
        try:
            # the repository's write transaction holds the lock from BEGIN
            with repo.db.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            with repo.db.read():  # its read transactions do not
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
        finally:
            other.close()
