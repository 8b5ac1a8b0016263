"""Shared helpers of the fault tests: a populated SQLite data directory built through the app's own
callbacks, and the acknowledged-vs-stored comparison."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path

from inference.records import Draft, Finding, Provenance, Section


def many_findings_draft(case_id: str, n: int) -> Draft:
    """A CXR draft with ``n`` ungrounded findings in the ``lungs`` section (ids ``f0`` … ``f{n-1}``)."""
    findings = tuple(Finding(f"f{i}", "lungs", f"Finding number {i} of case {case_id}.") for i in range(n))
    prov = Provenance(generator="builtin", model_id="built-in", created_at="2026-11-23T12:00:00+00:00")
    return Draft(case_id, (Section("lungs", findings),), "Test impression.", prov)


def populate(root: Path, png: Path, cases: int, findings: int) -> tuple[str, Path]:
    """Create ``root/data`` + ``root/rr.db`` with ``cases`` CXR cases (``c0``…), each drafted with
    ``findings`` findings, and reviewers alice/bob. Returns ``(db_url, data_dir)``."""
    from app.callbacks.worklist import register
    from app.services import Services
    from storage.repository import Repository
    from viewer.io import load_study

    data = root / "data"
    (data / "studies").mkdir(parents=True)
    dest = data / "studies" / png.name
    shutil.copyfile(png, dest)
    url = f"sqlite:///{root / 'rr.db'}"
    repo = Repository.open(url, data)
    svc = Services(repo=repo, data_dir=data, default_reviewer="alice")
    for i in range(cases):
        study = dataclasses.replace(load_study(dest, case_id=f"c{i}"), indication="cough")
        register(svc, study, dest)
        repo.save_draft(many_findings_draft(f"c{i}", findings))
    repo.add_reviewer("alice")
    repo.add_reviewer("bob")
    repo.close()
    return url, data


def stored_actions(db_file: Path) -> list[tuple[str, str, str]]:
    """``(case_id, finding_id, kind)`` of every stored review action, read with bare sqlite3."""
    with sqlite3.connect(db_file) as con:
        rows = con.execute("SELECT case_id, finding_id, kind FROM review_actions ORDER BY id").fetchall()
    return [(str(c), str(f or ""), str(k)) for c, f, k in rows]


def integrity(db_file: Path) -> str:
    """``PRAGMA integrity_check`` of the database file."""
    with sqlite3.connect(db_file) as con:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
