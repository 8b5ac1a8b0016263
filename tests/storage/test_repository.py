"""Repository behaviour on SQLite (always) and PostgreSQL (marked ``postgres``)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from inference.artefacts import content_ref
from inference.records import Draft, Finding, Grounding, Provenance, Section
from storage.engine import WRITE
from storage.models import ArtefactRow
from storage.records import IMPRESSION_ID, ReviewAction
from storage.repository import NotFoundError, Repository
from storage.review import InvalidActionError, StaleVersionError
from tests.storage import storage_factories as F

_INSERT = sa.text(
    "INSERT INTO review_actions (case_id, draft_id, seq, kind, reviewer, finding_id, base_version,"
    " clinically_significant, comment, acted_at)"
    " VALUES ('case-1', :d, 0, 'accept', :r, :f, 0, false, '', :t)")


def _a(kind: str, draft_id: str, reviewer: str = "ana", **kw: object) -> ReviewAction:
    return ReviewAction(kind=kind, case_id="case-1", draft_id=draft_id, reviewer=reviewer, **kw)  # type: ignore[arg-type]


def _count(repo: Repository, table: str) -> int:
    with repo.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def drafted(repo: Repository) -> str:
    repo.register_study(F.study(), "studies/case-1")
    return repo.save_draft(F.draft())


def test_register_is_idempotent_and_checks_paths(repo: Repository) -> None:
    first = repo.register_study(F.study(), "studies/case-1")
    again = repo.register_study(F.study(indication="other"), "studies/elsewhere")
    assert again == first and again.indication == "cough" and again.status == "new"
    assert first.source_sha256s == (F.study().images[0].sha256,)
    assert first.meta == {"StudyInstanceUID": "1.2.826.0.1.6", "Rows": "4", "Columns": "4"}
    assert first.created_at is not None and first.created_at.tzinfo is UTC
    with pytest.raises(ValueError, match="already registered as 'cxr'"):
        repo.register_study(F.study(kind="ct"), "x")
    for bad in ("/abs/path", "../outside"):
        with pytest.raises(ValueError, match="relative to the data directory"):
            repo.register_study(F.study("case-2"), bad)
    with pytest.raises(NotFoundError, match="prior case 'nope'"):
        repo.register_study(F.study("case-2"), "s", prior_case_id="nope")


def test_prior_is_linked_when_registered(repo: Repository) -> None:
    prior = F.study("old")
    repo.register_study(prior, "studies/old")
    record = repo.register_study(F.study("new", prior=prior), "studies/new")
    assert record.prior_case_id == "old" and record.prior_report == "Prior: clear."


def test_status_follows_drafts_and_actions(repo: Repository) -> None:
    for case in ("case-1", "case-2", "case-3"):
        repo.register_study(F.study(case), f"studies/{case}")
    assert repo.progress() == {"new": 3, "drafted": 0, "in_review": 0, "signed": 0}
    d1 = repo.save_draft(F.draft("case-1"))
    repo.save_draft(F.draft("case-2"))
    assert repo.get_study("case-1").status == "drafted"
    for fid in ("f1", "f2", "f3"):
        repo.record_action(_a("accept", d1, finding_id=fid))
    assert repo.get_study("case-1").status == "in_review"
    repo.record_action(_a("accept", d1, finding_id=IMPRESSION_ID))
    repo.record_action(_a("sign", d1, base_version=4))
    assert repo.progress() == {"new": 1, "drafted": 1, "in_review": 0, "signed": 1}
    assert [s.case_id for s in repo.list_studies(status="signed")] == ["case-1"]
    with pytest.raises(ValueError, match="unknown status"):
        repo.list_studies(status="done")


def test_assignment_events_and_filters(repo: Repository) -> None:
    repo.register_study(F.study("case-1", indication="Chest pain"), "a")
    repo.register_study(F.study("case-2", indication="fever"), "b")
    assert repo.assign("case-1", "ana").assigned_to == "ana"
    repo.assign("case-2", "ana")
    repo.assign("case-2", "ben")
    assert [s.case_id for s in repo.list_studies(assigned_to="ana")] == ["case-1"]
    assert [s.case_id for s in repo.list_studies(assigned_to="ben")] == ["case-2"]
    assert repo.progress("ben") == {"new": 1, "drafted": 0, "in_review": 0, "signed": 0}
    assert [s.case_id for s in repo.list_studies(search="CHEST")] == ["case-1"]
    assert [s.case_id for s in repo.list_studies(search="se-2")] == ["case-2"]
    assert repo.list_studies(search="%") == [] and repo.list_studies(search="case_") == []
    assert repo.assign("case-1", None).assigned_to is None
    with pytest.raises(NotFoundError, match="unknown reviewer 'zoe'"):
        repo.assign("case-1", "zoe")
    assert _count(repo, "assignments") == 4


def test_reviewers(repo: Repository) -> None:
    again = repo.add_reviewer("ana", "Someone else")
    assert again.display_name == "Ana A."
    assert [(r.name, r.display_name) for r in repo.list_reviewers()] == [("ana", "Ana A."), ("ben", None)]
    with pytest.raises(ValueError, match="1-64"):
        repo.add_reviewer("")


def test_draft_round_trip_with_artefacts(repo: Repository, drafted: str) -> None:
    stored = repo.get_draft(drafted)
    original = F.draft()
    assert stored == original  # artefacts are excluded from equality
    ref = content_ref(F.mask())
    assert list(stored.artefacts) == [ref]
    np.testing.assert_array_equal(stored.artefacts[ref], F.mask())
    np.testing.assert_array_equal(repo.load_artefact(ref), F.mask())
    assert (repo.data_dir / repo.artefacts.relative_path(ref)).is_file()
    with repo.engine.connect() as conn:
        row = conn.execute(sa.select(ArtefactRow.__table__)).one()
        regions = conn.execute(sa.text("SELECT region FROM draft_findings ORDER BY position")).scalars().all()
    assert (row.kind, row.dtype, row.nbytes) == ("mask", "|b1", 16) and list(row.shape) == [4, 4]
    assert regions == ["lungs", "pleura", "heart"]


def test_save_draft_refuses_dangling_refs_and_unknown_cases(repo: Repository) -> None:
    with pytest.raises(NotFoundError, match="register the study first"):
        repo.save_draft(F.draft("ghost"))
    repo.register_study(F.study(), "s")
    dangling = dataclasses.replace(F.draft(), artefacts={})
    with pytest.raises(ValueError, match=r"neither draft\.artefacts nor the store"):
        repo.save_draft(dangling)
    assert _count(repo, "drafts") == 0
    repo.save_draft(F.draft())
    assert repo.save_draft(dangling)  # now the store holds the mask


def test_reference_reports_round_trip(repo: Repository) -> None:
    repo.register_study(F.study(), "studies/case-1")
    assert repo.references_for("case-1") == []
    first = repo.save_reference("case-1", "FINDINGS: No effusion.", ("gt.csv", "reg2rg", 3))
    second = repo.save_reference("case-1", "Heart size normal.")
    got = repo.references_for("case-1")
    assert [r.id for r in got] == [first, second] and second > first
    assert (got[0].case_id, got[0].text, got[0].source_file, got[0].source_format, got[0].source_row) == (
        "case-1", "FINDINGS: No effusion.", "gt.csv", "reg2rg", 3)
    assert (got[1].source_file, got[1].source_format, got[1].source_row) == ("", "", None)
    assert got[0].created_at is not None and got[0].created_at.tzinfo is not None
    with pytest.raises(NotFoundError, match="case-9"):
        repo.save_reference("case-9", "No effusion.")
    with pytest.raises(ValueError, match="blank"):
        repo.save_reference("case-1", "  ")
    assert _count(repo, "reference_reports") == 2


def test_latest_draft_and_history(repo: Repository, drafted: str) -> None:
    second = repo.save_draft(F.draft(model="maira-2"))
    assert [i for i, _ in repo.drafts_for("case-1")] == [drafted, second]
    latest = repo.latest_draft("case-1")
    assert latest is not None and latest[0] == second and latest[1].provenance.model_id == "maira-2"
    repo.register_study(F.study("case-2"), "s2")
    assert repo.latest_draft("case-2") is None
    with pytest.raises(NotFoundError, match="has no draft"):
        repo.review_state("case-2")


def test_record_action_returns_stored_action(repo: Repository, drafted: str) -> None:
    shown = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    box = Grounding(boxes=((0.1, 0.1, 0.2, 0.2),), source="reviewer")
    stored = repo.record_action(_a("move_box", drafted, finding_id="f1", phrase_index=0, shown_at=shown,
                                   before_grounding=F.draft().findings[0].phrases[0].grounding,
                                   after_grounding=box, comment="moved"))
    assert stored.id is not None and stored.acted_at is not None and stored.acted_at.tzinfo is UTC
    state = repo.review_state("case-1")
    assert state.actions == (stored,)
    assert state.actions[0].shown_at == shown
    assert state.state_of("f1").finding.phrases[0].grounding == box
    assert state.state_of("f1").version == 1


def test_add_gets_a_finding_id(repo: Repository, drafted: str) -> None:
    stored = repo.record_action(_a("add", drafted, region="bones", after_text="Old rib fracture.",
                                   reason="missed_finding", clinically_significant=True))
    assert stored.finding_id and stored.finding_id.startswith("r-")
    added = repo.review_state("case-1").state_of(stored.finding_id)
    assert added.status == "added" and added.finding.region == "bones" and added.clinically_significant


def test_invalid_and_stale_actions_write_nothing(repo: Repository, drafted: str) -> None:
    repo.record_action(_a("accept", drafted, finding_id="f1"))
    with pytest.raises(StaleVersionError, match="your version 0, now 1, last change by ana"):
        repo.record_action(_a("reject", drafted, "ben", finding_id="f1", reason="style"))
    with pytest.raises(InvalidActionError, match="'nope' is not in case"):
        repo.record_action(_a("accept", drafted, finding_id="nope"))
    with pytest.raises(InvalidActionError, match="2 finding"):
        repo.record_action(_a("sign", drafted, base_version=1))
    with pytest.raises(NotFoundError, match="unknown reviewer 'zoe'"):
        repo.record_action(_a("accept", drafted, "zoe", finding_id="f2"))
    with pytest.raises(NotFoundError, match="draft 'nope'"):
        repo.record_action(_a("accept", "nope", finding_id="f2"))
    assert _count(repo, "review_actions") == 1
    assert repo.record_action(_a("reject", drafted, "ben", finding_id="f1", reason="style",
                                 base_version=1)).id is not None


def test_second_reviewer_in_another_process_is_told(repo: Repository, drafted: str,
                                                    migrated_url: str) -> None:
    other = Repository.open(migrated_url, repo.data_dir)  # its own engine and caches, like another worker
    try:
        seen = other.review_state("case-1").state_of("f2").version
        repo.record_action(_a("edit", drafted, finding_id="f2", after_text="No effusion.",
                              reason="false_finding", base_version=seen))
        with pytest.raises(StaleVersionError, match="finding 'f2' changed"):
            other.record_action(_a("reject", drafted, "ben", finding_id="f2", reason="style",
                                   base_version=seen))
        assert other.review_state("case-1").state_of("f2").finding.text == "No effusion."
    finally:
        other.close()


def test_race_on_the_same_version_is_caught(repo: Repository, drafted: str, migrated_url: str) -> None:
    """Writer A holds an uncommitted action N; B has read version N and appends: B must be told."""
    other = Repository.open(migrated_url, repo.data_dir)
    assert other.review_state("case-1").version == 0
    outcome: list[BaseException | ReviewAction] = []
    with repo.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            conn.execute(_INSERT, {"d": drafted, "r": "ana", "f": "f1", "t": datetime(2026, 1, 1)})

            def act() -> None:
                try:
                    outcome.append(other.record_action(_a("reject", drafted, "ben", finding_id="f1",
                                                           reason="style")))
                except BaseException as exc:
                    outcome.append(exc)

            worker = threading.Thread(target=act)
            worker.start()
            worker.join(0.5)  # B blocks on A's lock (SQLite) or on the unique index (PostgreSQL)
            assert worker.is_alive() and not outcome
        worker.join(30)
    other.close()
    assert len(outcome) == 1 and isinstance(outcome[0], StaleVersionError)
    assert _count(repo, "review_actions") == 1


def test_unique_seq_is_enforced_by_the_database(repo: Repository, drafted: str) -> None:
    repo.record_action(_a("accept", drafted, finding_id="f1"))
    with pytest.raises(sa.exc.IntegrityError), repo.engine.begin() as conn:
        conn.execute(_INSERT, {"d": drafted, "r": "ben", "f": "f2", "t": datetime(2026, 1, 1)})


def test_actions_on_different_findings_do_not_conflict(repo: Repository, drafted: str) -> None:
    repo.record_action(_a("accept", drafted, finding_id="f1"))
    repo.record_action(_a("accept", drafted, "ben", finding_id="f2"))  # base_version 0 of f2 is current
    assert [s.version for s in repo.review_state("case-1").findings] == [1, 1, 0]


def test_sign_snapshots_the_report(repo: Repository, drafted: str) -> None:
    repo.record_action(_a("edit", drafted, finding_id="f1",
                          before_text="A 6 mm nodule in the left upper lobe.",
                          after_text="A 6 mm nodule in the left lower lobe.", reason="wrong_location"))
    repo.record_action(_a("reject", drafted, finding_id="f2", reason="false_finding"))
    repo.record_action(_a("accept", drafted, finding_id="f3"))
    repo.record_action(_a("accept", drafted, finding_id=IMPRESSION_ID))
    sign = repo.record_action(_a("sign", drafted, base_version=4))
    with repo.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT action_id, reviewer, text FROM signed_reports")).one()
    assert row.action_id == sign.id and row.reviewer == "ana"
    assert row.text == ("LUNGS: A 6 mm nodule in the left lower lobe.\nHEART: Heart size is normal.\n"
                        "IMPRESSION: Nodule.")
    with pytest.raises(InvalidActionError, match="signed"):
        repo.record_action(_a("accept", drafted, finding_id="f1", base_version=1))
    cases = list(repo.reviewed_cases())
    assert [(c.study.case_id, c.state.signed_by, c.state.version) for c in cases] == [("case-1", "ana", 5)]
    assert cases[0].draft == F.draft()


def test_reviewed_cases_unsigned(repo: Repository, drafted: str) -> None:
    repo.register_study(F.study("case-2"), "s2")
    repo.record_action(_a("accept", drafted, finding_id="f1"))
    assert list(repo.reviewed_cases()) == []
    cases = list(repo.reviewed_cases(signed_only=False))
    assert [(c.study.case_id, c.study.status, c.state.version) for c in cases] == [("case-1", "in_review", 1)]


def test_regenerate_section(repo: Repository, drafted: str) -> None:
    fresh = Draft("case-1", (Section("pleura", (Finding("g1", "pleura", "No pleural effusion."),)),), None,
                  Provenance("builtin", "built-in"))
    new_id = repo.save_draft(fresh)
    repo.record_action(_a("regenerate", drafted, region="pleura", new_draft_id=new_id))
    repo.record_action(_a("accept", drafted, finding_id="g1"))
    state = repo.review_state("case-1")
    assert state.draft_id == drafted  # the review stays on the draft the actions refer to
    assert [(s.finding.id, s.status) for s in state.findings] == [("f1", "pending"), ("f3", "pending"),
                                                                  ("g1", "accepted")]


def test_case_mismatch_is_refused(repo: Repository, drafted: str) -> None:
    repo.register_study(F.study("case-2"), "s2")
    with pytest.raises(InvalidActionError, match="belongs to case 'case-1'"):
        repo.record_action(ReviewAction("accept", "case-2", drafted, "ana", finding_id="f1"))
    with pytest.raises(NotFoundError, match="belongs to case 'case-1'"):
        repo.review_state("case-2", drafted)


def test_caches_are_bounded(repo: Repository) -> None:
    from viewer.cache import LruCache

    assert repo.drafts.cache.max_bytes == repo.log.states.max_bytes == 1024  # entries
    lru: LruCache[int] = LruCache(max_items=2)  # the same cache at a small size
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # "a" is now the most recent
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (1, None, 3)


def test_threads_sharing_one_repository(repo: Repository) -> None:
    """The app's callbacks run in threads over one Repository: no action lost, none duplicated."""
    repo.register_study(F.study(), "s")
    items = tuple(Finding(f"f{i}", "lungs", f"Finding {i}.") for i in range(8))
    draft_id = repo.save_draft(Draft("case-1", (Section("lungs", items),), None, Provenance("builtin", "b")))
    stored: list[int] = []
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(25):
                fid = f"f{2 * t + i % 2}"  # each thread owns two findings
                version = repo.review_state("case-1", draft_id).state_of(fid).version
                action = repo.record_action(_a("accept", draft_id, finding_id=fid, base_version=version))
                stored.append(action.id or -1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    state = repo.review_state("case-1", draft_id)
    assert sorted(stored) == sorted(a.id for a in state.actions) and len(set(stored)) == 100
    assert [s.version for s in state.findings] == [13, 12] * 4
