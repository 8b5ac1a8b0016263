"""The SQLite hot path of ``record_action`` writes exactly what SQLAlchemy would, and sees other writers."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from inference.records import Grounding
from storage import rows
from storage.records import ReviewAction
from storage.repository import _INSERT_ACTION, Repository, _driver, _SqliteActions
from storage.review import StaleVersionError
from tests.storage import storage_factories as F


@pytest.fixture
def sqlite_repo(tmp_path: Path) -> Repository:
    repo = Repository.open(None, tmp_path)
    repo.add_reviewer("ana")
    repo.add_reviewer("ben")
    repo.register_study(F.study(), "studies/case-1")
    return repo


def _raw_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM review_actions ORDER BY id").fetchall()


def test_fast_insert_is_byte_identical_to_sqlalchemy(sqlite_repo: Repository, tmp_path: Path) -> None:
    draft_id = sqlite_repo.save_draft(F.draft())
    moved = Grounding(boxes=((0.1, 0.2, 0.3, 0.4),), source="reviewer")
    action = ReviewAction("move_box", "case-1", draft_id, "ana", finding_id="f1", phrase_index=0,
                          before_grounding=None, after_grounding=moved,
                          region="lungs", reason="grounding_error", clinically_significant=True,
                          comment="moved",
                          shown_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                          acted_at=datetime(2026, 1, 2, 3, 4, 6, 250, tzinfo=UTC))
    stored = sqlite_repo.record_action(action)
    values = rows.action_values(action, seq=1, finding_version=1)
    with sqlite_repo.engine.connect() as conn, conn.begin():
        conn.execute(_INSERT_ACTION, values)
    fast, reference = _raw_rows(tmp_path / "radreview.db")
    assert fast[0] == stored.id and fast[3] == 0 and reference[3] == 1  # id, seq
    assert fast[1:3] + fast[4:] == reference[1:3] + reference[4:]
    assert fast[-4:-2] == ("2026-01-02 03:04:05.000000", "2026-01-02 03:04:06.000250")  # shown, acted
    assert "null" in fast and '{"boxes": [[0.1, 0.2, 0.3, 0.4]], "mask_ref": null, ' in str(fast)
    assert sqlite_repo.review_state("case-1").actions[0] == stored


def test_fast_insert_raises_sqlalchemy_integrity_error(sqlite_repo: Repository) -> None:
    draft_id = sqlite_repo.save_draft(F.draft())
    fast = _SqliteActions(sqlite_repo.engine.dialect)
    values = rows.action_values(ReviewAction("accept", "case-1", draft_id, "ana", finding_id="f2",
                                             acted_at=datetime.now(UTC)), seq=0, finding_version=1)
    with sqlite_repo.engine.connect() as conn, conn.begin():
        assert fast.max_seq(_driver(conn), draft_id) is None
        fast.insert(_driver(conn), values)
        assert fast.max_seq(_driver(conn), draft_id) == 0
        with pytest.raises(sa.exc.IntegrityError, match=r"review_actions\.draft_id, review_actions\.seq"):
            fast.insert(_driver(conn), values)
        with pytest.raises(ValueError, match="must name exactly"):
            fast.insert(_driver(conn), {"seq": 1})


def test_cached_state_sees_another_writers_actions(sqlite_repo: Repository, tmp_path: Path) -> None:
    draft_id = sqlite_repo.save_draft(F.draft())
    other = Repository.open(None, tmp_path)
    try:
        assert sqlite_repo.review_state("case-1").version == 0  # cached in this repository
        other.record_action(ReviewAction("edit", "case-1", draft_id, "ben", finding_id="f2",
                                         after_text="No effusion.", reason="false_finding"))
        with pytest.raises(StaleVersionError):
            sqlite_repo.record_action(ReviewAction("accept", "case-1", draft_id, "ana", finding_id="f2"))
        stored = sqlite_repo.record_action(ReviewAction("accept", "case-1", draft_id, "ana", finding_id="f3"))
        state = sqlite_repo.review_state("case-1")
        assert [a.id for a in state.actions] == [1, stored.id] and state.version == 2
        assert state.state_of("f2").finding.text == "No effusion." and state.state_of("f2").version == 1
    finally:
        other.close()


def test_hot_path_refusals_write_nothing_and_release_the_connection(sqlite_repo: Repository,
                                                                    tmp_path: Path) -> None:
    from storage.review import InvalidActionError

    draft_id = sqlite_repo.save_draft(F.draft())
    # the first action warms the caches, so the rest take the hot path
    sqlite_repo.record_action(ReviewAction("accept", "case-1", draft_id, "ana", finding_id="f2"))
    with pytest.raises(StaleVersionError):
        sqlite_repo.record_action(ReviewAction("accept", "case-1", draft_id, "ana", finding_id="f2"))
    with pytest.raises(InvalidActionError, match="f9"):
        sqlite_repo.record_action(ReviewAction("accept", "case-1", draft_id, "ana", finding_id="f9"))
    with pytest.raises(InvalidActionError, match="belongs to case 'case-1'"):
        sqlite_repo.record_action(ReviewAction("accept", "case-2", draft_id, "ana", finding_id="f3"))
    third = sqlite_repo.record_action(ReviewAction("reject", "case-1", draft_id, "ben", finding_id="f3",
                                                   reason="false_finding"))
    assert [(r[0], r[3], r[4]) for r in _raw_rows(tmp_path / "radreview.db")] == [(1, 0, "accept"),
                                                                                 (third.id, 1, "reject")]
    assert sqlite_repo.review_state("case-1").state_of("f3").status == "rejected"
