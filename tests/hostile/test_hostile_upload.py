"""Hostile files through the upload route's plain callback (``app.callbacks.worklist.upload``): a stored
case or a ``ServiceError`` (shown as ``gr.Error``) naming the file, and on refusal the database and the
uploads folder untouched."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.crafted import BUILDERS
from tests.hostile.hostile_support import EXPECTED
from tests.hostile.mutate import mutate


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    from app.services import Services
    from storage.repository import Repository

    data = tmp_path / "data"
    data.mkdir()
    repo = Repository.open(f"sqlite:///{tmp_path / 'rr.db'}", data)
    repo.add_reviewer("alice")
    yield Services(repo=repo, data_dir=data, default_reviewer="alice", max_upload_mb=64)
    repo.close()


def _attempt(services: Any, path: Path) -> str | None:
    """Upload ``path``; the case id, or ``None`` after checking a refusal left no trace."""
    from app.callbacks.worklist import upload
    from app.services import ServiceError
    from viewer.errors import printable

    before = [r.case_id for r in services.repo.list_studies()]
    try:
        return upload(services, "alice", str(path))
    except ServiceError as exc:
        message = str(exc)
        assert printable(path.name) in message or path.name in message, message
        assert "Traceback" not in message and "internal error" not in message
    assert [r.case_id for r in services.repo.list_studies()] == before
    uploads = services.data_dir / "uploads"
    stray = [p for p in uploads.rglob("*") if p.is_file() and p.parent.name not in before] \
        if uploads.exists() else []
    assert stray == [], f"refused upload left files behind: {stray}"
    return None


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_crafted_upload(name: str, tmp_path: Path, services: Any) -> None:
    path = BUILDERS[name](tmp_path)
    cid = _attempt(services, path)
    if EXPECTED[name] == 3:
        assert cid is None, f"{name} was accepted as {cid}"
    elif cid is not None:
        assert [r.case_id for r in services.repo.list_studies()] == [cid]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
def test_mutated_uploads(seed_files: list[Path], tmp_path: Path, services: Any) -> None:
    rng = random.Random(8)
    accepted = refused = 0
    for i in range(40):
        seed = rng.choice(seed_files)
        _kind, data = mutate(seed.read_bytes(), rng)
        suffix = ".nii.gz" if seed.name.endswith(".nii.gz") else (seed.suffix or ".dcm")
        path = tmp_path / f"u{i:03d}{suffix if suffix in ('.png', '.nii.gz', '.dcm') else '.dcm'}"
        path.write_bytes(data)
        if _attempt(services, path) is None:
            refused += 1
        else:
            accepted += 1
    assert accepted + refused == 40 and refused > 0
