"""Golden files and behaviour of the training-data exports (DESIGN §6): what is exported is what was
signed, one record per study, a fresh folder, provenance and free-text policy. The consumer loaders
run in test_export_consumers.py."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from storage.exports import FORMATS, ExportFilter, UnknownFormatError, export
from storage.exports.maira2 import decode_coord, encode_coord, to_square_crop
from storage.exports.registry import NonEmptyFolderError
from tests.golden import check_golden
from tests.storage.export_cases import all_cases, case_a, case_b, case_c, case_d, write_sources

GOLDEN = Path(__file__).parent / "golden"
CREATED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
JSON_FORMATS = {"llava": "llava.json", "sft": "metadata.jsonl", "dpo": "metadata.jsonl",
                "radfact": "radfact.json", "maira2": "maira2.jsonl"}


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return write_sources(tmp_path_factory.mktemp("sources"))


def _check_golden(produced: Path, name: str) -> None:
    check_golden(GOLDEN / name, produced.read_text(encoding="utf-8"))


def _rows(path: Path) -> list[dict]:  # type: ignore[type-arg]
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else [json.loads(x) for x in text.splitlines()]


@pytest.mark.parametrize("fmt", sorted(JSON_FORMATS))
def test_golden(fmt: str, tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    result = export(fmt, all_cases(), tmp_path / "out", image_resolver=resolver, created_at=CREATED)
    _check_golden(tmp_path / "out" / JSON_FORMATS[fmt], f"{fmt}.{JSON_FORMATS[fmt].split('.')[-1]}")
    manifest = json.loads(result.manifest_path.read_text())
    manifest["radreview_version"] = "X"
    (tmp_path / "m.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    _check_golden(tmp_path / "m.json", f"{fmt}.manifest.json")


def test_targets_hold_the_reviewed_report(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    result = export("sft", all_cases(), tmp_path, image_resolver=resolver, created_at=CREATED)
    a = _rows(result.files[0])[0]
    target = a["messages"][1]["content"][0]["text"]
    assert target == ("LUNGS: A 6 mm nodule in the left lower lobe.\nHEART: Heart size is normal.\n"
                      "BONES: Old left rib fracture.\nIMPRESSION: Left lower lobe nodule.")
    assert a["file_names"] == ["images/case-a/current_frontal.png", "images/case-a/current_lateral.png"]
    assert [c["type"] for c in a["messages"][0]["content"]] == ["image", "image", "text"]
    prov = a["provenance"]
    assert (prov["schema_version"], prov["draft_id"], prov["generator"], prov["model_id"], prov["signed"],
            prov["signed_by"], prov["reviewers"]) == ("2", "d-case-a", "builtin", "built-in", True, "ana",
                                                      ["ana"])
    assert prov["signed_at"] == "2026-01-02T09:06:00+00:00" and prov["quantization"] == "none"


def test_all_marks_unsigned_records_and_leaves_pending_out(  # type: ignore[no-untyped-def]
        tmp_path: Path, resolver) -> None:
    # case-d: f1 accepted; f2, f3 and the impression pending
    assert export("sft", [case_d()], tmp_path / "s", image_resolver=resolver).counts["records"] == 0
    result = export("sft", [case_d()], tmp_path / "a", filters=ExportFilter(signed_only=False),
                    image_resolver=resolver, created_at=CREATED)
    (row,) = _rows(result.files[0])
    assert row["provenance"]["signed"] is False and row["provenance"]["signed_at"] is None
    assert row["messages"][1]["content"][0]["text"] == "LUNGS: A 6 mm nodule in the left upper lobe."


def test_dpo_pairs_only_where_reviewer_changed(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    result = export("dpo", all_cases(), tmp_path, image_resolver=resolver, created_at=CREATED)
    rows = _rows(result.files[0])
    assert ("case-b", "accepted unchanged: no preference pair") in result.skipped
    assert [r["provenance"]["case_id"] for r in rows] == ["case-a"]  # case-c is CT: 2D formats skip it
    assert rows[0]["chosen"][0]["content"][0]["text"].endswith("IMPRESSION: Left lower lobe nodule.")
    assert "PLEURA: Small right pleural effusion." in rows[0]["rejected"][0]["content"][0]["text"]


def test_ct_is_kept_out_of_2d_formats(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    for fmt in ("llava", "sft", "maira2", "radfact"):
        result = export(fmt, [case_c()], tmp_path / fmt, image_resolver=resolver, created_at=CREATED)
        assert result.counts["records"] == 0 and result.skipped[0][0] == "case-c", fmt


def test_one_record_per_study_newest_signed_wins(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    a = case_a()
    uid = {"StudyInstanceUID": "1.2.3"}
    older = dataclasses.replace(case_b(), study=dataclasses.replace(case_b().study, meta=uid))
    newer = dataclasses.replace(a, study=dataclasses.replace(a.study, meta={**a.study.meta, **uid}))
    unsigned = dataclasses.replace(case_d(), study=dataclasses.replace(case_d().study, meta=uid))
    result = export("llava", [older, newer, unsigned], tmp_path, filters=ExportFilter(signed_only=False),
                    image_resolver=resolver, created_at=CREATED)
    # case-b was signed 2026-01-05, case-a 2026-01-02: the newest signed review (case-b) wins
    assert [r["id"] for r in _rows(result.files[0])] == ["case-b"]
    manifest = json.loads(result.manifest_path.read_text())
    assert {s["case_id"] for s in manifest["superseded"]} == {"case-a", "case-d"}
    assert manifest["counts"]["cases_superseded"] == 2


def test_an_export_refuses_a_non_empty_folder(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    export("llava", [case_b()], tmp_path / "out", image_resolver=resolver)
    with pytest.raises(NonEmptyFolderError, match="not empty"):
        export("llava", [case_b()], tmp_path / "out", image_resolver=resolver)
    (tmp_path / "empty").mkdir()
    export("llava", [case_b()], tmp_path / "empty", image_resolver=resolver)  # an empty folder is fine


def test_free_text_is_deidentified_or_dropped(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    result = export("llava", [case_a()], tmp_path / "d", image_resolver=resolver)
    prompt = _rows(result.files[0])[0]["conversations"][0]["value"]
    assert "Indication: Cough, [NAME] [ID]." in prompt and "John" not in prompt and "12345" not in prompt
    result = export("maira2", [case_a()], tmp_path / "x", image_resolver=resolver, free_text="drop")
    row = _rows(result.files[0])[0]
    assert row["indication"] is None and "Cough" not in result.files[0].read_text()
    with pytest.raises(ValueError, match="free-text policy"):
        export("llava", [case_a()], tmp_path / "y", free_text="keep")


def test_rendered_pngs_follow_the_display_pipeline(tmp_path: Path) -> None:
    import pydicom
    from PIL import Image

    from storage.exports.images import render_png
    from tests.storage.dicom_phi import write_cxr

    src = write_cxr(tmp_path / "m1.dcm", rows=4, cols=4)
    ds = pydicom.dcmread(src)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.WindowCenter, ds.WindowWidth = 8, 16  # pixels 0..15 → the whole display range
    ds.save_as(src)
    assert render_png(src, tmp_path / "m1.png") == (4, 4)
    shown = np.asarray(Image.open(tmp_path / "m1.png"))
    assert shown.dtype == np.uint8 and shown[0, 0] > shown[3, 3]  # MONOCHROME1: low values are white
    assert Image.open(tmp_path / "m1.png").info == {}  # pixels only, no text chunks


def test_filters(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    cases = all_cases()
    ids = lambda f: [c.study.case_id for c in cases if f.matches(c)]  # noqa: E731
    assert ids(ExportFilter()) == ["case-a", "case-b", "case-c"]
    assert ids(ExportFilter(signed_only=False)) == ["case-a", "case-b", "case-c", "case-d"]
    assert ids(ExportFilter(reviewer="ben")) == ["case-b"]
    assert ids(ExportFilter(reviewer="ben", signed_only=False)) == ["case-b", "case-d"]
    assert ids(ExportFilter(since=date(2026, 1, 3))) == ["case-b", "case-c"]
    assert ids(ExportFilter(until=date(2026, 1, 3))) == ["case-a", "case-c"]
    assert ids(ExportFilter(since=datetime(2026, 1, 3, 9, 4, tzinfo=UTC))) == ["case-b"]
    assert ids(ExportFilter(region="bones")) == ["case-a"]
    assert ids(ExportFilter(model="microsoft/maira-2")) == ids(ExportFilter(model="HF")) == ["case-b"]
    assert ids(ExportFilter(model="builtin")) == ["case-a", "case-c"]


def test_manifest_counts_filters_and_provenance(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    result = export("maira2", all_cases(), tmp_path, filters=ExportFilter(reviewer="ana"),
                    image_resolver=resolver, created_at=CREATED)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["counts"] == {"cases_seen": 4, "cases_matched": 2, "cases_superseded": 0,
                                  "cases_exported": 1, "records": 1, "skipped": 1}
    assert manifest["schema_version"] == "2" and manifest["free_text"] == "deid"
    assert [p["case_id"] for p in manifest["provenance"]] == ["case-a"]
    assert manifest["skipped"][0]["case_id"] == "case-c"
    assert manifest["files"][0]["path"] == "maira2.jsonl" and len(manifest["files"][0]["sha256"]) == 64


def test_maira2_bins_are_the_inverse_of_maira2_decoding() -> None:
    assert all(encode_coord(decode_coord(b)) == b for b in range(100))
    assert (encode_coord(0.0), encode_coord(0.999), encode_coord(1.0), encode_coord(0.625)) == (0, 99, 99, 62)
    # 100×200 portrait: the centre crop is rows 50..150
    assert to_square_crop((0.0, 0.25, 1.0, 0.75), 100, 200) == (0.0, 0.0, 1.0, 1.0)
    assert to_square_crop((0.5, 0.5, 0.6, 0.8), 100, 200) == pytest.approx((0.5, 0.5, 0.6, 1.0))


def test_maira2_sequence_round_trips_through_the_project_parser() -> None:
    from inference.parsers.maira2 import parse_maira2
    from storage.exports.common import kept_findings
    from storage.exports.maira2 import grounded_sequence

    case = case_a()  # 100×200 image: boxes go through the centre crop and back
    parsed = parse_maira2(grounded_sequence(case, boxes_inside=False, size=(100, 200)), "cxr",
                          image_size=(100, 200))
    assert not parsed.malformed
    assert [f.text for f in parsed.findings] == [f.text for f in kept_findings(case)]
    boxes = [p.grounding.boxes if p.grounding else () for f in parsed.findings for p in f.phrases]
    expected = [((0.62, 0.55, 0.72, 0.65),), (), ((0.7, 0.4, 0.8, 0.5),)]
    for got, want in zip(boxes, expected, strict=True):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):  # half a bin: 0.005 in x, 0.0025 in y on this image
            assert g == pytest.approx(w, abs=0.0051)


def test_radfact_prediction_is_draft_and_target_is_corrected(tmp_path: Path) -> None:
    result = export("radfact", [case_a()], tmp_path, created_at=CREATED)
    (example,) = json.loads(result.files[0].read_text())
    assert [p["text"] for p in example["prediction"]][1] == "Small right pleural effusion."
    assert example["target"][0]["boxes"] == [{"x_min": 0.62, "y_min": 0.55, "x_max": 0.72, "y_max": 0.65}]
    assert example["target"][1]["boxes"] is None


def test_unknown_format_suggests(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match="did you mean 'llava'"):
        export("lava", [], tmp_path)
    assert set(FORMATS) >= {"llava", "sft", "dpo", "radfact", "maira2", "dicom-sr", "dicom-seg", "regions"}


def test_dpo_box_only_change_gives_no_pair(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    from inference.records import Grounding
    from storage.records import IMPRESSION_ID, ReviewAction
    from storage.review import apply_actions
    from tests.storage.export_cases import cxr_draft

    draft = cxr_draft("case-b")
    t = datetime(2026, 1, 9, tzinfo=UTC)
    acts = [ReviewAction("move_box", "case-b", "d", "ana", finding_id="f1", phrase_index=0, acted_at=t,
                         after_grounding=Grounding(boxes=((0.5, 0.2, 0.7, 0.3),), source="reviewer")),
            *[ReviewAction("accept", "case-b", "d", "ana", finding_id=f, acted_at=t)
              for f in ("f1", "f2", "f3", IMPRESSION_ID)],
            ReviewAction("sign", "case-b", "d", "ana", acted_at=t)]
    case = dataclasses.replace(case_b(), draft=draft, state=apply_actions(draft, "d", "cxr", acts))
    result = export("dpo", [case], tmp_path / "d", image_resolver=resolver, created_at=CREATED)
    assert result.counts["records"] == 0
    assert result.skipped == (
        ("case-b", "only the grounding changed: chosen and rejected texts are identical"),)
    radfact = export("radfact", [case], tmp_path / "r", created_at=CREATED)
    (example,) = json.loads(radfact.files[0].read_text())
    assert example["target"][0]["boxes"] == [{"x_min": 0.5, "y_min": 0.2, "x_max": 0.7, "y_max": 0.3}]


def test_copy_images_strips_raster_metadata(tmp_path: Path) -> None:
    from PIL import Image, PngImagePlugin

    src = tmp_path / "src.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Patient Zzmarkpng born 1931")
    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).save(src, pnginfo=info)
    result = export("llava", [case_b()], tmp_path / "out", copy_images=True, image_resolver=lambda r: [src],
                    created_at=CREATED)
    copied = tmp_path / "out" / "images" / "case-b" / f"{'c' * 64}.png"
    assert copied.is_file() and b"Zzmarkpng" not in copied.read_bytes()
    rendered = tmp_path / "out" / _rows(result.files[0])[0]["image"]
    assert b"Zzmarkpng" not in rendered.read_bytes()
    assert np.array_equal(np.asarray(Image.open(copied)), np.asarray(Image.open(src)))
    entry = json.loads(result.manifest_path.read_text())["images"][0]
    assert entry["copied"] and entry["source_sha256"] == "c" * 64 and len(entry["sha256"]) == 64
    with pytest.raises(ValueError, match="--data-dir"):
        export("llava", [case_b()], tmp_path / "o2", copy_images=True)


def test_maira2_names_the_prior_frontal_and_keeps_the_prior_report(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    base = case_b()
    study = dataclasses.replace(base.study, prior_case_id="case-a",
                                prior_report="Prior: Jane Roe, clear lungs.")
    case = dataclasses.replace(base, study=study)
    priors = {"case-a": case_a().study}
    result = export("maira2", [case], tmp_path, image_resolver=resolver, study_lookup=priors.get,
                    created_at=CREATED)
    (row,) = _rows(result.files[0])
    assert row["images"]["prior_frontal"] == "images/case-b/prior_frontal.png"
    assert (tmp_path / row["images"]["prior_frontal"]).is_file()
    assert row["prior_report"] == "Prior: [NAME], clear lungs." and row["comparison"]
