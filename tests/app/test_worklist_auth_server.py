"""Worklist, upload checks, auth file and server policy."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from app.auth import AuthFile, AuthFileError, check_password, hash_password
from app.callbacks import review, worklist
from app.services import ServiceError


def test_rows_filter_search_and_next_unreviewed(drafted) -> None:
    assert [r[0] for r in worklist.rows(drafted)] == ["ct1", "cxr1"]
    assert [r[0] for r in worklist.rows(drafted, "drafted")] == ["ct1"]
    assert [r[0] for r in worklist.rows(drafted, "all", "cxr")] == ["cxr1"]
    assert worklist.next_unreviewed(drafted, "alice") == "ct1"
    assert worklist.next_unreviewed(drafted, "alice", after="ct1") == "cxr1"
    assert worklist.next_unreviewed(drafted, "alice", after="cxr1") == "ct1"
    review.decide(drafted, "alice", "ct1", "f1", "accept", review.Decision())
    text = worklist.progress_text(drafted, "alice")
    assert text.startswith("**alice** (assigned): 0 new · 0 drafted · 0 in review · 0 signed")
    assert text.endswith("**all cases**: 1 new · 0 drafted · 1 in review · 0 signed")


def test_upload_png_registers_and_assigns(services, demo_files, tmp_path: Path) -> None:
    src = tmp_path / "chest.png"
    shutil.copyfile(demo_files["cxr-png"], src)
    cid = worklist.upload(services, "bob", str(src), case_id="up1", indication="fever")
    record = services.repo.get_study("up1")
    assert (cid, record.kind, record.indication, record.assigned_to) == ("up1", "cxr", "fever", "bob")
    assert (services.data_dir / record.data_path).is_file()
    with pytest.raises(ServiceError, match="already in the worklist"):
        worklist.upload(services, "bob", str(src), case_id="up1")


def test_upload_of_a_multi_series_zip_keeps_the_series_picked(services, tmp_path: Path) -> None:
    """A PACS export zip holds several series: without a pick the reviewer is told which (and where to
    enter one); with a pick only that series is stored and the case opens as it."""
    import zipfile

    import numpy as np

    from tests.viewer.io.conftest import ct_slice, write_series

    folder = tmp_path / "export"
    thin = [ct_slice(np.full((2, 2), 1000), (0, 0, z), series="1.2.9.1") for z in (0, 2, 4)]
    write_series(folder / "thin", thin)
    thick = [ct_slice(np.full((2, 2), 1500), (0, 0, z), series="1.2.9.2") for z in (0, 3)]
    write_series(folder / "thick", thick)
    src = tmp_path / "export.zip"
    with zipfile.ZipFile(src, "w") as zf:
        for f in sorted(folder.rglob("*.dcm")):
            zf.write(f, f.relative_to(folder).as_posix())
    with pytest.raises(ServiceError, match=r"^export\.zip holds 2 series: 1\.2\.9\.1 \(3 slices, CT\); "
                       r"1\.2\.9\.2 \(2 slices, CT\); enter the one to read under 'series UID'"):
        worklist.upload(services, "bob", str(src), case_id="ct2")
    with pytest.raises(ServiceError, match=r"^export\.zip: series 9\.9 not found$"):
        worklist.upload(services, "bob", str(src), case_id="ct2", series="9.9")
    assert [r.case_id for r in services.repo.list_studies()] == ["ct1", "cxr1"]  # nothing half-registered
    worklist.upload(services, "bob", str(src), case_id="ct2", series=" 1.2.9.2 ")
    record = services.repo.get_study("ct2")
    stored = sorted(p.name for p in (services.data_dir / record.data_path).rglob("*.dcm"))
    assert len(stored) == 2
    image = services.study("ct2").primary
    assert image.meta["SeriesInstanceUID"] == "1.2.9.2" and float(image.pixels.max()) == 1500 - 1024


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"hello", "unsupported file type '.txt'"),
        ("series.zip", b"not a zip", "not a valid zip"),
        ("broken.dcm", b"\x00" * 200, "broken.dcm"),
    ],
)
def test_bad_uploads_are_refused_clearly(
    services, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    with pytest.raises(ServiceError, match=message):
        worklist.upload(services, "bob", str(src))
    assert [r.case_id for r in services.repo.list_studies()] == ["ct1", "cxr1"]
    assert not list((services.data_dir / "uploads").glob("broken*"))


def test_upload_size_cap(services, tmp_path: Path) -> None:
    import dataclasses

    small = dataclasses.replace(services, max_upload_mb=0)
    src = tmp_path / "x.png"
    src.write_bytes(b"\x89PNG" + b"\x00" * 2**20)
    with pytest.raises(ServiceError, match="upload limit is 0 MiB"):
        worklist.upload(small, "bob", str(src))


def test_auth_file_round_trip(tmp_path: Path) -> None:
    entry = hash_password("s3cret-pass")
    assert check_password(entry, "s3cret-pass") and not check_password(entry, "s3cret-pasS")
    assert entry["scrypt"] != hash_password("s3cret-pass")["scrypt"]  # salted
    path = tmp_path / "users.json"
    AuthFile(path, {}).with_user("alice", "s3cret-pass").save()
    assert path.stat().st_mode & 0o777 == 0o600
    assert "s3cret" not in path.read_text()
    auth = AuthFile.load(path)
    assert (
        auth.verify("alice", "s3cret-pass") and not auth.verify("alice", "x") and not auth.verify("eve", "x")
    )
    with pytest.raises(ValueError, match="at least 8"):
        auth.with_user("bob", "short")
    with pytest.raises(ValueError, match="letters, digits"):
        auth.with_user("bad name", "long-enough")
    (tmp_path / "bad.json").write_text(json.dumps([1]))
    with pytest.raises(AuthFileError, match="no 'users'"):
        AuthFile.load(tmp_path / "bad.json")


def test_user_add_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import main

    monkeypatch.setenv("RADREVIEW_PASSWORD", "another-pass")
    path = tmp_path / "u.json"
    assert main(["user", "add", "carol", "--auth-file", str(path)]) == 0
    assert AuthFile.load(path).verify("carol", "another-pass")


def test_non_loopback_needs_an_auth_file() -> None:
    from app.commands.serve import _auth
    from app.errors import CliError
    from app.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    args = argparse.Namespace(host="0.0.0.0", auth_file=None)
    with pytest.raises(CliError, match=r"refusing to serve on 0\.0\.0\.0 without login"):
        _auth(args)
    assert _auth(argparse.Namespace(host="127.0.0.1", auth_file=None)) is None


def test_healthz_and_error_page(services, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from app.server import ServerConfig, check_data_dir, create_server

    broken = create_server(None, ServerConfig(), problem="database sqlite:///x is not usable")
    client = TestClient(broken)
    assert client.get("/healthz").status_code == 503
    page = client.get("/anything")
    assert page.status_code == 503 and "database sqlite:///x is not usable" in page.text
    ok = TestClient(create_server(services, ServerConfig()))
    body = ok.get("/healthz").json()
    assert body["status"] == "ok" and body["studies"] == 2 and body["generator"] == "built-in, no AI model"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "not usable" in (check_data_dir(blocker / "sub") or "")


def test_export_callback_writes_reg2rg_regions_and_zip(drafted, tmp_path: Path) -> None:
    from app.callbacks import export as export_cb

    for fid in ("f1", "f4"):
        review.decide(drafted, "alice", "ct1", fid, "accept", review.Decision())
    review.decide(drafted, "alice", "ct1", "f2", "edit", review.Decision("style"), text="Lungs clear.")
    review.decide(drafted, "alice", "ct1", "f3", "reject", review.Decision("false_finding"))
    review.decide_impression(drafted, "alice", "ct1", "accept", review.Decision())
    review.sign(drafted, "alice", "ct1")
    folder, archive, summary = export_cb.run_export(drafted, export_cb.ExportRequest("regions"), tmp_path)
    import csv

    rows = list(csv.DictReader((folder / "radgenome.csv").open(encoding="utf-8")))
    by_region = {r["Anatomy"]: r["Sentence"] for r in rows}
    assert set(by_region) == {"heart", "lung", ""}  # the rejected pleural finding is not a target
    assert by_region["lung"] == "A 12 mm nodule in the left upper lobe. Lungs clear."
    assert (folder / "volumes/ct1/ct1/ct1.nii.gz").is_file()
    assert sorted(p.name for p in (folder / "masks/seg_ct1").iterdir()) == ["heart.nii.gz", "lung.nii.gz"]
    assert archive.suffix == ".zip" and archive.parent.parent == tmp_path
    assert "3 record(s)" in summary
    with pytest.raises(ServiceError, match="not a date"):
        export_cb.run_export(drafted, export_cb.ExportRequest("dpo", since="yesterday"), tmp_path)


def test_dashboard_charts(drafted) -> None:
    from app.callbacks import dashboard

    review.decide(drafted, "alice", "ct1", "f3", "reject", review.Decision("false_finding"))
    by_region, _by_model, reasons, _seconds, _edits, refs, summary = dashboard.charts(drafted)
    assert list(reasons.data[0].x) == ["false_finding"] and list(reasons.data[0].y) == [1]
    assert "pleura" in list(by_region.data[0].x)
    assert summary == "1 case(s) with a draft, 0 signed, 0 with a reference report"
    assert refs.data[0].x is None or list(refs.data[0].x) == []


def test_dashboard_scores_drafts_against_the_reference(drafted) -> None:
    import math

    from app.callbacks import dashboard

    pytest.importorskip("sacrebleu", reason="BLEU needs the 'metrics' extra")
    drafted.repo.save_reference("ct1", "FINDINGS: No pneumothorax. Small right pleural effusion.",
                                ("gt.csv", "text", 1))
    *_, refs, summary = dashboard.charts(drafted)
    assert summary.endswith("1 with a reference report")
    draft_bleu = refs.data[0]  # per region, all models; the case is not signed, so signed bars are empty
    assert list(draft_bleu.x) == ["all", "pleura"]
    # "Small right pleural effusion ." inside the 8-token reference: BLEU = 100·exp(1 − 8/5)
    assert draft_bleu.y[1] == pytest.approx(100 * math.exp(-0.6))
    assert refs.data[1].y[1] is None and refs.data[2].y[1] == pytest.approx(80)


def test_upload_with_lateral_shows_both_images(services, demo_files, tmp_path: Path) -> None:
    import json

    from app.viewer_bridge import viewer_state

    front, side = tmp_path / "front.png", tmp_path / "side.png"
    shutil.copyfile(demo_files["cxr-png"], front)
    shutil.copyfile(demo_files["cxr-png"], side)
    worklist.upload(services, "bob", str(front), case_id="lat1", lateral=str(side))
    study = services.study("lat1")
    assert len(study.images) == 2 and study.lateral is not None and study.lateral.view == "LATERAL"
    images = json.loads(viewer_state(services, "lat1", None))["images"]  # what the viewer is given
    assert [im["index"] for im in images] == [0, 1] and images[1]["view"] == "LATERAL"
