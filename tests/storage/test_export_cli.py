"""``radreview export`` end to end: DICOM on disk → repository (draft, actions, sign) → export files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from inference.artefacts import content_ref
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
from storage.deid import assert_no_phi
from storage.records import IMPRESSION_ID, ReviewAction
from tests.storage.dicom_phi import MARKERS, PRIVATE_MARKER, write_cxr


def _populate(data: Path) -> None:
    from storage.repository import Repository
    from viewer.io import load_study

    write_cxr(data / "studies" / "cxr.dcm", rows=8, cols=6)
    study = load_study(data / "studies" / "cxr.dcm", case_id="case-cli")
    mask = np.zeros((8, 6), dtype=bool)
    mask[2:4, 1:3] = True
    ref = content_ref(mask)
    f1 = Finding("f1", "lungs", "Nodule in the right upper lobe.",
                 (Phrase("Nodule", (0, 6), Grounding(boxes=((0.1, 0.2, 0.5, 0.5),), mask_ref=ref)),))
    f2 = Finding("f2", "heart", "Heart size is normal.")
    draft = Draft("case-cli", (Section("lungs", (f1,)), Section("heart", (f2,))), None,
                  Provenance("builtin", "built-in"), artefacts={ref: mask})
    with Repository.open(None, data) as repo:
        repo.add_reviewer("ana")
        repo.register_study(study, "studies/cxr.dcm")
        draft_id = repo.save_draft(draft)
        for action in (
            ReviewAction("edit", "case-cli", draft_id, "ana", finding_id="f1",
                         after_text="Nodule in the right lower lobe.", reason="wrong_location",
                         grounding="keep"),
            ReviewAction("accept", "case-cli", draft_id, "ana", finding_id="f2"),
            ReviewAction("accept", "case-cli", draft_id, "ana", finding_id=IMPRESSION_ID),
            ReviewAction("sign", "case-cli", draft_id, "ana", base_version=3),
        ):
            repo.record_action(action)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    _populate(data)
    return data


@pytest.mark.parametrize("fmt", ["dpo", "llava", "dicom-sr", "dicom-seg"])
def test_cli_exports_from_the_repository(fmt: str, data_dir: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    if fmt.startswith("dicom"):
        pytest.importorskip("highdicom", reason="DICOM SR/SEG need the 'dicom' extra")
    out = tmp_path / fmt
    code = main(["export", "--format", fmt, "--out", str(out), "--data-dir", str(data_dir), "--copy-images",
                 "--json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert (summary["cases_matched"], summary["records"], summary["skipped"]) == (1, 1, 0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["images"][0]["copied"] and manifest["images"][0]["path"].startswith("images/case-cli/")
    assert_no_phi([p for p in out.rglob("*") if p.is_file()], [*MARKERS.values(), PRIVATE_MARKER])


def test_cli_filters_and_errors(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "--format", "sft", "--out", str(tmp_path / "o"), "--data-dir", str(data_dir),
                 "--reviewer", "ben", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["cases_matched"] == 0
    missing = str(tmp_path / "nope")
    code = main(["export", "--format", "sft", "--out", str(tmp_path / "o"), "--data-dir", missing])
    assert code == 2 and "data directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["export", "--format", "sft", "--out", str(tmp_path / "o"), "--since", "yesterday"])
    assert exc.value.code == 2


def test_cli_refuses_a_non_empty_folder_and_drops_free_text(data_dir: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "llava"
    assert main(["export", "--format", "llava", "--out", str(out), "--data-dir", str(data_dir),
                 "--free-text", "drop"]) == 0
    record = json.loads((out / "llava.json").read_text())[0]
    assert "Indication" not in record["conversations"][0]["value"]
    assert (out / record["image"]).is_file()  # LLaVA opens image_folder/image: the export folder
    capsys.readouterr()
    code = main(["export", "--format", "llava", "--out", str(out), "--data-dir", str(data_dir)])
    assert code == 2 and "is not empty" in capsys.readouterr().err
