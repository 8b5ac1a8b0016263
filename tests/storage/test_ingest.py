"""``radreview ingest`` and ``radreview db``: content-addressed copies, idempotent registration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from storage import migrate
from storage.ingest import study_digest
from storage.repository import Repository


@pytest.fixture
def png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "in" / "chest.png"
    path.parent.mkdir()
    Image.fromarray((np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)).save(path)
    return path


@pytest.fixture
def nifti(tmp_path: Path) -> Path:
    import nibabel as nib

    path = tmp_path / "in" / "ct.nii.gz"
    path.parent.mkdir(exist_ok=True)
    volume = (np.arange(8 * 16 * 16) % 400 - 1000).astype(np.int16).reshape(16, 16, 8)
    nib.save(nib.Nifti1Image(volume, np.diag([0.8, 0.8, 2.5, 1.0])), path)  # type: ignore[no-untyped-call]
    return path


def test_ingest_copies_by_content_and_registers(tmp_path: Path, png: Path, nifti: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    args = ["ingest", str(png), str(nifti), "--data-dir", str(data), "--assign", "ana",
            "--indication", "Cough.", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in out["ingested"]] == ["cxr", "ct"] and out["failed"] == []
    assert all(r["copied"] and r["status"] == "new" for r in out["ingested"])
    with Repository.open(None, data) as repo:
        studies = {s.kind: s for s in repo.list_studies(assigned_to="ana")}
        assert studies["cxr"].indication == "Cough."
        copied = data / studies["cxr"].data_path
        assert copied.read_bytes() == png.read_bytes()
        from viewer.io import load_study

        digest = study_digest(load_study(png))
        assert studies["cxr"].data_path == f"studies/{digest[:2]}/{digest}/chest.png"
    assert main(args) == 0  # the same content again: nothing new
    again = json.loads(capsys.readouterr().out)
    assert [r["copied"] for r in again["ingested"]] == [False, False]
    with Repository.open(None, data) as repo:
        assert len(repo.list_studies()) == 2
    assert not list(data.glob("studies/*/*/.ingest-*"))


def test_unreadable_input_exits_3_and_ingests_the_rest(tmp_path: Path, png: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    assert main(["ingest", str(bad), str(png), "--data-dir", str(tmp_path / "d")]) == 3
    captured = capsys.readouterr()
    assert captured.err.startswith("error:") and "notes.txt" in captured.err
    assert "cxr" in captured.out


def test_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d"
    assert main(["db", "upgrade", "--data-dir", str(data)]) == 0
    assert f"revision {migrate.head()}" in capsys.readouterr().out
    from alembic.script import ScriptDirectory

    previous = ScriptDirectory.from_config(migrate.config()).get_revision(migrate.head()).down_revision
    assert main(["db", "downgrade", "--data-dir", str(data)]) == 0
    assert f"revision {previous};" in capsys.readouterr().out
    assert main(["db", "downgrade", "base", "--data-dir", str(data)]) == 0
    assert "base (empty)" in capsys.readouterr().out
    assert main(["db", "current", "--db", f"sqlite:///{data / 'radreview.db'}"]) == 0
    assert "base (empty)" in capsys.readouterr().out


def test_copy_into_copies_folders_once(tmp_path: Path) -> None:
    from storage.ingest import copy_into

    src = tmp_path / "series"
    (src / "sub").mkdir(parents=True)
    (src / "a.dcm").write_bytes(b"A" * 10)
    (src / "sub" / "b.dcm").write_bytes(b"B" * 20)
    (src / "link").symlink_to("/etc/passwd")
    digest = "ab" * 32
    relative, copied = copy_into(tmp_path / "data", src, digest)
    assert copied and relative == f"studies/ab/{digest}/series"
    target = tmp_path / "data" / relative
    assert (target / "a.dcm").read_bytes() == b"A" * 10
    assert (target / "sub" / "b.dcm").read_bytes() == b"B" * 20
    assert not (target / "link").exists()
    assert copy_into(tmp_path / "data", src, digest) == (relative, False)


@pytest.mark.parametrize("packed", ["folder", "zip"])
def test_ingesting_one_series_of_several_stores_and_opens_that_series(tmp_path: Path, packed: str) -> None:
    """A real CT export holds several series (thin and thick reconstructions, a scout). ``--series``
    picked one, but the whole folder was stored, so the worklist could not open the case ("2 series
    found … pass --series") and the DICOM exports read the other series' headers too."""
    import zipfile

    from app.services import Services
    from tests.viewer.io.conftest import ct_slice, write_series

    thin = [ct_slice(np.full((2, 2), 1000), (0, 0, z), series="1.2.9.1") for z in (0, 2, 4)]
    thick = [ct_slice(np.full((2, 2), 1500), (0, 0, z), series="1.2.9.2") for z in (0, 3)]
    source = tmp_path / "in" / "export"
    write_series(source / "thin", thin)
    write_series(source / "thick", thick, seed=1)
    if packed == "zip":
        with zipfile.ZipFile(tmp_path / "in" / "export.zip", "w") as zf:
            for f in sorted(source.rglob("*.dcm")):
                zf.write(f, f.relative_to(source).as_posix())
        source = tmp_path / "in" / "export.zip"
    data, db = tmp_path / "data", f"sqlite:///{tmp_path / 'rr.db'}"
    assert main(["ingest", str(source), "--series", "1.2.9.2", "--data-dir", str(data), "--db", db]) == 0
    repo = Repository.open(db, data)
    (record,) = repo.list_studies()
    stored = sorted(p.relative_to(data / record.data_path).as_posix()
                    for p in (data / record.data_path).rglob("*") if p.is_file())
    assert len(stored) == 2 and all(name.startswith("thick/") for name in stored)
    image = Services(repo=repo, data_dir=data).study(record.case_id).primary
    assert image.shape == (2, 2, 2) and image.meta["SeriesInstanceUID"] == "1.2.9.2"
    assert float(image.pixels.max()) == 1500 - 1024  # HU of the picked series
    repo.close()
