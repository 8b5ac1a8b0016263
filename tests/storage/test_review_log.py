"""The review log's conflicts are typed: ``VersionConflict`` from the ``UNIQUE(draft_id, seq)`` constraint.

Run on SQLite (always) and PostgreSQL (marked ``postgres``): the same rows, the same errors, the same
conflicts on both, read from the drivers' error codes (psycopg's ``diag.constraint_name``,
``sqlite3``'s ``sqlite_errorname``), never from message text.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storage import rows
from storage.records import ReviewAction, ReviewState
from storage.repo.review_log import SEQ_CONSTRAINT, append_action
from storage.repository import Repository, VersionConflict
from storage.review import InvalidActionError, StaleVersionError
from tests.storage import storage_factories as F


@pytest.fixture
def drafted(repo: Repository) -> str:
    repo.register_study(F.study(), "studies/case-1")
    return repo.save_draft(F.draft())


def _values(draft_id: str, seq: int, **kw: Any) -> dict[str, Any]:
    action = ReviewAction(kw.pop("kind", "accept"), "case-1", draft_id, kw.pop("reviewer", "ana"),
                          finding_id="f2", acted_at=datetime(2026, 1, 2, 3, 4, 6, 250, tzinfo=UTC))
    return {**rows.action_values(action, seq=seq, finding_version=1), **kw}


def test_seq_constraint_is_the_only_unique_one(repo: Repository) -> None:
    # SQLite names no constraint in its error; SQLITE_CONSTRAINT_UNIQUE must have this one source.
    found = sa.inspect(repo.engine).get_unique_constraints("review_actions")
    assert [tuple(c["column_names"]) for c in found] == [("draft_id", "seq")]
    if repo.engine.dialect.name == "postgresql":
        assert [c["name"] for c in found] == [SEQ_CONSTRAINT]


def test_taken_seq_is_a_version_conflict(repo: Repository, drafted: str) -> None:
    with repo.db.write() as conn:
        assert append_action(conn, _values(drafted, 0)) == 1
    with pytest.raises(VersionConflict, match=f"seq 0 of draft '{drafted}'"), repo.db.write() as conn:
        append_action(conn, _values(drafted, 0, reviewer="ben"))
    with repo.db.write() as conn:
        append_action(conn, _values(drafted, 1, reviewer="ben"))  # PostgreSQL spent id 2 on the refusal
    assert [(a.reviewer, a.finding_id) for a in repo.review_state("case-1").actions] == [("ana", "f2"),
                                                                                      ("ben", "f2")]


@pytest.mark.parametrize("bad", [{"reviewer": "nobody"}, {"kind": "bogus"}, {"seq": -1}])
def test_other_refusals_are_not_conflicts(repo: Repository, drafted: str, bad: dict[str, Any]) -> None:
    with pytest.raises(sa.exc.IntegrityError) as caught, repo.db.write() as conn:
        append_action(conn, _values(drafted, 0) | bad)
    assert not isinstance(caught.value, VersionConflict)
    assert repo.review_state("case-1").version == 0


def _stale_once(repo: Repository, monkeypatch: pytest.MonkeyPatch, stale: ReviewState) -> None:
    """The next state read returns ``stale`` (a writer that bypassed the lock), the ones after are real."""
    real = repo.log.state
    calls = iter([lambda conn, draft_id: stale])
    monkeypatch.setattr(repo.log, "state", lambda conn, d: next(calls, real)(conn, d))


def test_conflict_is_retried_on_the_fresh_state(repo: Repository, drafted: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    stale = repo.review_state("case-1")
    repo.record_action(ReviewAction("accept", "case-1", drafted, "ben", finding_id="f1"))
    _stale_once(repo, monkeypatch, stale)
    stored = repo.record_action(ReviewAction("accept", "case-1", drafted, "ana", finding_id="f2"))
    state = repo.review_state("case-1")
    assert [a.id for a in state.actions] == [1, stored.id] and state.version == 2


def test_conflict_on_the_same_finding_is_stale(repo: Repository, drafted: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    stale = repo.review_state("case-1")
    repo.record_action(ReviewAction("accept", "case-1", drafted, "ben", finding_id="f1"))
    _stale_once(repo, monkeypatch, stale)
    with pytest.raises(StaleVersionError):
        repo.record_action(ReviewAction("accept", "case-1", drafted, "ana", finding_id="f1"))
    assert repo.review_state("case-1").version == 1


def test_cached_state_sees_another_writers_actions(repo: Repository, drafted: str, tmp_path: Path) -> None:
    other = Repository.open(str(repo.engine.url.render_as_string(hide_password=False)), repo.data_dir)
    try:
        assert repo.review_state("case-1").version == 0  # cached in this repository
        other.record_action(ReviewAction("edit", "case-1", drafted, "ben", finding_id="f2",
                                         after_text="No effusion.", reason="false_finding"))
        with pytest.raises(StaleVersionError):
            repo.record_action(ReviewAction("accept", "case-1", drafted, "ana", finding_id="f2"))
        stored = repo.record_action(ReviewAction("accept", "case-1", drafted, "ana", finding_id="f3"))
        state = repo.review_state("case-1")
        assert [a.id for a in state.actions] == [1, stored.id] and state.version == 2
        assert state.state_of("f2").finding.text == "No effusion." and state.state_of("f2").version == 1
    finally:
        other.close()


def test_refusals_write_nothing(repo: Repository, drafted: str) -> None:
    repo.record_action(ReviewAction("accept", "case-1", drafted, "ana", finding_id="f2"))
    with pytest.raises(StaleVersionError):
        repo.record_action(ReviewAction("accept", "case-1", drafted, "ana", finding_id="f2"))
    with pytest.raises(InvalidActionError, match="f9"):
        repo.record_action(ReviewAction("accept", "case-1", drafted, "ana", finding_id="f9"))
    with pytest.raises(InvalidActionError, match="belongs to case 'case-1'"):
        repo.record_action(ReviewAction("accept", "case-2", drafted, "ana", finding_id="f3"))
    third = repo.record_action(ReviewAction("reject", "case-1", drafted, "ben", finding_id="f3",
                                            reason="false_finding"))
    actions = repo.review_state("case-1").actions
    assert [(a.id, a.kind) for a in actions] == [(1, "accept"), (third.id, "reject")]
    assert repo.review_state("case-1").state_of("f3").status == "rejected"


def test_rows_are_stored_as_written(tmp_path: Path) -> None:
    with Repository.open(None, tmp_path) as repo:
        repo.add_reviewer("ana")
        repo.register_study(F.study(), "studies/case-1")
        draft_id = repo.save_draft(F.draft())
        repo.record_action(ReviewAction("accept", "case-1", draft_id, "ana", finding_id="f2",
                                        shown_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                                        acted_at=datetime(2026, 1, 2, 3, 4, 6, 250, tzinfo=UTC)))
    with sqlite3.connect(tmp_path / "radreview.db") as conn:
        (row,) = conn.execute("SELECT seq, kind, finding_version, shown_at, acted_at FROM review_actions")
    assert row == (0, "accept", 1, "2026-01-02 03:04:05.000000", "2026-01-02 03:04:06.000250")
