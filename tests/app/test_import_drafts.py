"""Importing drafts into a real SQLite repository: matched rows stored, every other row reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.importing import import_drafts, summary_json, summary_lines
from storage.repository import Repository
from viewer.records import Image, Study

DATA = Path(__file__).parents[1] / "inference" / "data" / "imports"


def _study(case_id: str, kind: str = "cxr", lateral: bool = False) -> Study:
    def image(view: str) -> Image:
        shape = (1, 2, 2) if kind == "ct" else (2, 2)
        return Image(pixels=np.zeros(shape, np.float32), spacing_mm=None, affine=np.eye(4),
                     modality="CT" if kind == "ct" else "DX", photometric="MONOCHROME2", default_window=None,
                     source=f"/in/{case_id}.dcm", sha256=f"{len(case_id):064d}", view=view)

    images = (image("PA"), image("LATERAL")) if lateral else (image("AXIAL" if kind == "ct" else "PA"),)
    return Study(case_id=case_id, kind=kind, images=images)  # type: ignore[arg-type]


def test_llava_rad_rows_are_stored_flagged_and_problems_listed(tmp_path: Path) -> None:
    studies = [_study("s50414267"), _study("other-case")]
    with Repository.open(None, tmp_path / "data") as repo:
        for s in studies:
            repo.register_study(s, f"studies/{s.case_id}")
        summary = import_drafts(repo, DATA / "llava_rad_preds.jsonl", "llava-rad",
                                [(s, [s.primary.source]) for s in studies], match_by="id")
        assert [(c, r) for c, _, r in summary.saved] == [("s50414267", 1)]
        assert [(p.row, p.match_key) for p in summary.problems] == [(2, "s53189527"), (4, "s56699142")]
        _, draft_id, _ = summary.saved[0]
        stored = repo.get_draft(draft_id)
        assert stored.provenance.generator == "import:llava-rad"
        assert stored.provenance.label == "llava_rad_preds.jsonl row 1"
        flags = {f.text: f.flags for f in stored.findings}
        assert flags["Compared to the prior study, there is no significant change."] == (
            "prior_reference_without_prior",)
        (reference,) = repo.references_for("s50414267")
        assert reference.text == ("The lungs are clear. There is no pleural effusion or pneumothorax. "
                                  "Heart size is normal.")
        assert (reference.source_file, reference.source_format, reference.source_row) == (
            "llava_rad_preds.jsonl", "llava-rad", 1)
        assert repo.references_for("other-case") == []
    lines = summary_lines(summary)
    assert lines[0].startswith("imported 1 llava-rad draft(s)")
    assert "  row 2 (s53189527): no study with case id 's53189527'" in lines
    assert "  row 4 (s56699142): no prediction text" in lines
    assert lines[-1] == "  stored 1 reference report(s) for the dashboard's BLEU/ROUGE-L"
    assert summary_json(summary)["saved"][0]["case_id"] == "s50414267"
    assert (summary_json(summary)["references"], summary_json(summary)["references_stored"]) == (1, 1)


def test_text_reports_match_by_filename_and_take_the_studies_kind(tmp_path: Path) -> None:
    study = _study("ct-case-1", kind="ct")
    with Repository.open(None, tmp_path / "data") as repo:
        repo.register_study(study, "studies/ct-case-1")
        summary = import_drafts(repo, DATA / "text_reports", "text", [(study, ["/in/s50414267.txt"])],
                                match_by="filename")
        assert [c for c, _, _ in summary.saved] == ["ct-case-1"]
        stored = repo.get_draft(summary.saved[0][1])
        assert stored.sections[0].region == "abdomen"  # read as CT: the studies are CT
        assert [(p.row, p.match_key) for p in summary.problems] == [(1, "openi_1")]


def test_kind_mismatch_is_reported_not_stored(tmp_path: Path) -> None:
    ct, cxr = _study("ct-1", kind="ct"), _study("cxr-1")
    with Repository.open(None, tmp_path / "data") as repo:
        for s in (ct, cxr):
            repo.register_study(s, f"studies/{s.case_id}")
        summary = import_drafts(repo, DATA / "text_reports", "text",
                                [(ct, ["s50414267.txt"]), (cxr, ["openi_1.xml"])], match_by="filename")
        assert [c for c, _, _ in summary.saved] == ["cxr-1"]
        (problem,) = summary.problems
        assert problem.reason == ("the draft is a cxr report but study 'ct-1' is ct; "
                                  "import it with the kind set to ct")
        assert repo.drafts_for("ct-1") == []


def _png(path: Path, seed: int) -> Path:
    from PIL import Image as PILImage

    pixels = (np.random.default_rng(seed).random((16, 16)) * 255).astype("uint8")
    PILImage.fromarray(pixels).save(path)
    return path


def test_cli_ingest_with_drafts_then_import_drafts(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from app.cli import main

    a, b = _png(tmp_path / "s50414267.png", 0), _png(tmp_path / "s53189527.png", 1)
    data = tmp_path / "data"
    preds = str(DATA / "llava_rad_preds.jsonl")
    assert main(["ingest", str(a), "--data-dir", str(data), "--drafts", preds, "--drafts-format", "llava-rad",
                 "--match-by", "filename", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["row"] for d in out["drafts"]["saved"]] == [1]
    problems = [(p["row"], p["match_key"]) for p in out["drafts"]["problems"]]
    assert problems == [(2, "s53189527"), (4, "s56699142")]
    assert main(["ingest", str(b), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["import-drafts", "--drafts", preds, "--format", "llava-rad", "--match-by", "filename",
                 "--data-dir", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("imported 2 llava-rad draft(s)")
    assert main(["import-drafts", "--drafts", preds, "--format", "llava_rad", "--data-dir", str(data)]) == 2
    assert "did you mean 'llava-rad'" in capsys.readouterr().err
    assert main(["import-drafts", "--drafts", str(tmp_path / "none.jsonl"), "--format", "maira2",
                 "--data-dir", str(data)]) == 3
