"""Alembic migrations: shipped in the package, match the models, keep data across down/up."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import migrate
from storage.engine import create_engine
from storage.models import Base
from storage.records import IMPRESSION_ID, ReviewAction
from storage.repository import Repository
from tests.storage import storage_factories as F

_TABLES = ("reviewers", "studies", "assignments", "drafts", "draft_findings", "review_actions",
           "signed_reports", "artefacts", "reference_reports", "draft_jobs")


def _snapshot(url: str) -> dict[str, list[tuple[object, ...]] | None]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            present = set(inspector.get_table_names())
            return {t: sorted(tuple(map(repr, r))
                              for r in conn.execute(sa.text(f"SELECT {_columns(inspector, t)} FROM {t}")))
                    if t in present else None for t in _TABLES}
    finally:
        engine.dispose()


def _columns(inspector: sa.Inspector, table: str) -> str:
    """The columns every revision from 0001 has (0005's ``review_actions.grounding`` is checked apart)."""
    return ", ".join(c["name"] for c in inspector.get_columns(table)
                     if (table, c["name"]) != ("review_actions", "grounding"))


def _populate(repo: Repository) -> str:
    repo.register_study(F.study(), "studies/case-1")
    repo.register_study(F.study("case-2"), "studies/case-2")
    repo.assign("case-1", "ana")
    draft_id = repo.save_draft(F.draft())
    edit = {"after_text": "Nodule, left lower lobe.", "reason": "wrong_location"}
    reject = {"reason": "false_finding", "clinically_significant": True}
    for kind, fid, extra in (("edit", "f1", edit), ("reject", "f2", reject), ("accept", "f3", {})):
        repo.record_action(ReviewAction(kind, "case-1", draft_id, "ana", finding_id=fid,  # type: ignore[arg-type]
                                        **extra))
    repo.record_action(ReviewAction("accept", "case-1", draft_id, "ana", finding_id=IMPRESSION_ID))
    repo.record_action(ReviewAction("sign", "case-1", draft_id, "ana", base_version=4))
    repo.save_reference("case-1", "FINDINGS: No effusion.", ("gt.csv", "reg2rg", 1))
    return draft_id


def test_models_match_the_migrations(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
            assert migrate.current(conn) == migrate.head()
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_keeps_data(migrated_url: str, repo: Repository) -> None:
    db_url = migrated_url
    draft_id = _populate(repo)
    before_state = repo.review_state("case-1")
    before = _snapshot(db_url)
    assert len(before["review_actions"]) == 5 and len(before["signed_reports"]) == 1
    repo.close()
    kept = {**before, "reference_reports": None, "draft_jobs": None}  # past 0004: references and jobs go
    migrate.downgrade(db_url, "0003")
    assert _snapshot(db_url) == kept
    migrate.upgrade(db_url)
    assert _snapshot(db_url) == {**kept, "reference_reports": [], "draft_jobs": []}
    migrate.downgrade(db_url, "0001")  # through 0004 (table), 0003 (triggers) and 0002 (table rebuild)
    assert _snapshot(db_url) == kept
    migrate.upgrade(db_url)
    assert _snapshot(db_url) == {**kept, "reference_reports": [], "draft_jobs": []}
    reopened = Repository.open(db_url, repo.data_dir)
    try:
        assert reopened.review_state("case-1") == before_state
        assert reopened.progress() == {"new": 1, "drafted": 0, "in_review": 0, "signed": 1}
        assert reopened.get_draft(draft_id) == F.draft()
    finally:
        reopened.close()


def _checks(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {str(c["name"]) for c in sa.inspect(conn).get_check_constraints("review_actions")}
    finally:
        engine.dispose()


def test_vocabulary_constraints_arrive_with_0002(db_url: str) -> None:
    migrate.upgrade(db_url, "0001")
    assert _checks(db_url) == {"ck_review_actions_seq_nonnegative"}
    migrate.upgrade(db_url)
    assert _checks(db_url) == {"ck_review_actions_seq_nonnegative", "ck_review_actions_kind",
                               "ck_review_actions_reason"}


def test_review_log_is_append_only(repo: Repository) -> None:
    _populate(repo)
    for statement in ("UPDATE review_actions SET comment = 'changed'", "DELETE FROM review_actions",
                      "UPDATE signed_reports SET text = 'forged'", "DELETE FROM signed_reports",
                      "UPDATE reference_reports SET text = 'forged'", "DELETE FROM reference_reports"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), repo.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with repo.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM review_actions").scalar() == 5


def test_downgrade_to_base_and_back(db_url: str) -> None:
    migrate.upgrade(db_url)
    migrate.downgrade(db_url, "base")
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert not set(_TABLES) & set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    migrate.upgrade(db_url)
    assert migrate.is_current(db_url)


def test_migrations_ship_inside_the_package() -> None:
    root = Path(migrate.__file__).parent / "migrations"
    assert (root / "env.py").is_file() and (root / "script.py.mako").is_file()
    assert sorted(p.name for p in (root / "versions").glob("0*.py")) == [
        "0001_initial_schema.py", "0002_action_vocabulary.py", "0003_append_only_triggers.py",
        "0004_reference_reports.py", "0005_edit_grounding_choice.py",
        "0006_draft_jobs.py"]
    assert migrate.head() == migrate.SCHEMA_REVISION == "0006"


def test_reference_reports_arrive_with_0004(db_url: str) -> None:
    migrate.upgrade(db_url, "0003")
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert "reference_reports" not in sa.inspect(conn).get_table_names()
        migrate.upgrade(db_url)
        with engine.connect() as conn:
            columns = [c["name"] for c in sa.inspect(conn).get_columns("reference_reports")]
        assert columns == ["id", "case_id", "text", "source_file", "source_format", "source_row",
                           "created_at"]
    finally:
        engine.dispose()


def test_edit_grounding_choice_arrives_with_0005_and_keeps_the_triggers(db_url: str, tmp_path: Path) -> None:
    migrate.upgrade(db_url, "0004")
    repo = Repository.open(db_url, tmp_path / "data")  # upgrades 0004 -> 0005
    repo.add_reviewer("ana")
    try:
        _populate(repo)
        with repo.engine.connect() as conn:
            columns = [c["name"] for c in sa.inspect(conn).get_columns("review_actions")]
        assert columns[-1] == "grounding"
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), repo.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE review_actions SET grounding = 'keep'")
    finally:
        repo.close()
