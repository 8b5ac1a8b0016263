"""Golden-file and behaviour tests of the JSON/JSONL exports (DESIGN §6)."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from export_cases import all_cases, case_a, case_b, case_c, case_d

from storage.exports import FORMATS, ExportFilter, UnknownFormatError, export
from storage.exports.maira2 import decode_coord, encode_coord, to_square_crop

GOLDEN = Path(__file__).parent / "golden"
CREATED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
JSON_FORMATS = {"llava": "llava.jsonl", "sft": "sft.jsonl", "dpo": "dpo.jsonl", "radfact": "radfact.json",
                "maira2": "maira2.jsonl", "regions": "regions.jsonl"}


def _check_golden(produced: Path, name: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("RADREVIEW_UPDATE_GOLDEN"):
        golden.write_bytes(produced.read_bytes())
    assert produced.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8"), \
        f"{produced} differs from {golden}; set RADREVIEW_UPDATE_GOLDEN=1 to accept a deliberate change"


@pytest.mark.parametrize("fmt", sorted(JSON_FORMATS))
def test_golden(fmt: str, tmp_path: Path) -> None:
    result = export(fmt, all_cases(), tmp_path, created_at=CREATED)
    _check_golden(tmp_path / JSON_FORMATS[fmt], JSON_FORMATS[fmt])
    manifest = json.loads(result.manifest_path.read_text())
    manifest["radreview_version"] = "X"
    (tmp_path / "m.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    _check_golden(tmp_path / "m.json", f"{fmt}.manifest.json")


@pytest.mark.parametrize("fmt", [f for f, name in JSON_FORMATS.items() if name.endswith(".jsonl")])
def test_jsonl_is_one_object_per_line(fmt: str, tmp_path: Path) -> None:
    result = export(fmt, all_cases(), tmp_path, created_at=CREATED)
    lines = result.files[0].read_text(encoding="utf-8").splitlines()
    assert len(lines) == result.counts["records"] > 0
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_dpo_pairs_only_where_reviewer_changed(tmp_path: Path) -> None:
    result = export("dpo", all_cases(), tmp_path, created_at=CREATED)
    rows = [json.loads(x) for x in result.files[0].read_text().splitlines()]
    assert result.skipped == (("case-b", "accepted unchanged: no preference pair"),)
    assert len(rows) == 2  # case-a and case-c; case-d is unsigned
    a = rows[0]
    assert a["chosen"][0]["content"][0]["text"].startswith("LUNGS: A 6 mm nodule in the left lower lobe.")
    assert "PLEURA: Small right pleural effusion." in a["rejected"][0]["content"][0]["text"]
    assert [c["type"] for c in a["prompt"][0]["content"]] == ["image", "image", "text"]
    assert len(a["images"]) == 2


def test_dpo_file_loads_with_datasets_as_trl_expects(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="datasets is in the dev extra")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = export("dpo", all_cases(), tmp_path, created_at=CREATED)
    ds = datasets.load_dataset("json", data_files=str(result.files[0]), split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 2
    assert {"images", "prompt", "chosen", "rejected"} <= set(ds.column_names)
    row = ds[0]
    # TRL conversational preference: prompt/chosen/rejected are message lists with role + content parts
    assert row["prompt"][0]["role"] == "user" and row["chosen"][0]["role"] == "assistant"
    assert row["rejected"][0]["role"] == "assistant"
    n_placeholders = sum(part["type"] == "image" for part in row["prompt"][0]["content"])
    assert n_placeholders == len(row["images"]) == 2


def test_filters(tmp_path: Path) -> None:
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
    result = export("regions", cases, tmp_path, filters=ExportFilter(region="heart"), created_at=CREATED)
    rows = [json.loads(x) for x in result.files[0].read_text().splitlines()]
    assert [r["id"] for r in rows] == ["case-a/heart", "case-b/heart", "case-c/heart"]
    assert rows[2]["draft"] == "No pericardial effusion."
    assert rows[2]["target"] == "No pericardial effusion is seen."


def test_manifest_counts_and_filters(tmp_path: Path) -> None:
    result = export("maira2", all_cases(), tmp_path, filters=ExportFilter(reviewer="ana"), created_at=CREATED)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["counts"] == {"cases_seen": 4, "cases_matched": 2, "cases_exported": 1, "records": 1,
                                  "skipped": 1}
    assert manifest["filters"]["reviewer"] == "ana" and manifest["created_at"] == "2026-02-01T12:00:00+00:00"
    assert manifest["skipped"][0]["case_id"] == "case-c"
    assert manifest["files"][0]["path"] == "maira2.jsonl" and len(manifest["files"][0]["sha256"]) == 64
    assert manifest["radreview_version"]


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
    parsed = parse_maira2(grounded_sequence(case, boxes_inside=False), "cxr", image_size=(100, 200))
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


def test_ct_3d_boxes_are_not_written_as_2d(tmp_path: Path) -> None:
    result = export("radfact", [case_c()], tmp_path, created_at=CREATED)
    (example,) = json.loads(result.files[0].read_text())
    assert all(s["boxes"] is None for s in example["prediction"] + example["target"])


def test_unknown_format_suggests(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match="did you mean 'llava'"):
        export("lava", [], tmp_path)
    assert set(FORMATS) >= {"llava", "sft", "dpo", "radfact", "maira2", "dicom-sr", "dicom-seg", "regions"}


def test_unsigned_cases_need_all(tmp_path: Path) -> None:
    result = export("sft", [case_d()], tmp_path, created_at=CREATED)
    assert result.counts["records"] == 0
    result = export("sft", [case_d()], tmp_path, filters=ExportFilter(signed_only=False), created_at=CREATED)
    assert result.counts["records"] == 1


def test_dpo_box_only_change_gives_no_pair(tmp_path: Path) -> None:
    import dataclasses

    from export_cases import cxr_draft

    from inference.records import Grounding
    from storage.records import IMPRESSION_ID, ReviewAction
    from storage.review import apply_actions

    draft = cxr_draft("case-m")
    t = datetime(2026, 1, 9, tzinfo=UTC)
    acts = [ReviewAction("move_box", "case-m", "d", "ana", finding_id="f1", phrase_index=0, acted_at=t,
                         after_grounding=Grounding(boxes=((0.5, 0.2, 0.7, 0.3),), source="reviewer")),
            *[ReviewAction("accept", "case-m", "d", "ana", finding_id=f, acted_at=t)
              for f in ("f1", "f2", "f3", IMPRESSION_ID)],
            ReviewAction("sign", "case-m", "d", "ana", acted_at=t)]
    base = case_b()
    case = dataclasses.replace(base, study=dataclasses.replace(base.study, case_id="case-m"), draft=draft,
                               state=apply_actions(draft, "d", "cxr", acts))
    result = export("dpo", [case], tmp_path, created_at=CREATED)
    assert result.counts["records"] == 0
    assert result.skipped == (
        ("case-m", "only the grounding changed: chosen and rejected texts are identical"),)
    radfact = export("radfact", [case], tmp_path / "r", created_at=CREATED)
    (example,) = json.loads(radfact.files[0].read_text())
    assert example["target"][0]["boxes"] == [{"x_min": 0.5, "y_min": 0.2, "x_max": 0.7, "y_max": 0.3}]


def test_copy_images_strips_raster_metadata(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image, PngImagePlugin

    src = tmp_path / "src.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Patient Zzmarkpng born 1931")
    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).save(src, pnginfo=info)
    case = case_b()
    result = export("llava", [case], tmp_path / "out", copy_images=True, image_resolver=lambda r: [src],
                    created_at=CREATED)
    record = json.loads(result.files[0].read_text())
    copied = tmp_path / "out" / record["image"]
    assert record["image"] == f"images/case-b/{'c' * 64}.png" and copied.is_file()
    assert b"Zzmarkpng" not in copied.read_bytes()
    assert np.array_equal(np.asarray(Image.open(copied)), np.asarray(Image.open(src)))
    entry = json.loads(result.manifest_path.read_text())["images"][0]
    assert entry["copied"] and entry["source_sha256"] == "c" * 64 and len(entry["sha256"]) == 64
    with pytest.raises(ValueError, match="--data-dir"):
        export("llava", [case], tmp_path / "o2", copy_images=True)
