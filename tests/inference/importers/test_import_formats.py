"""Every import format on small hand-written fixture files (tests/inference/data/imports/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.importers import UNKNOWN_MODEL, ImportFileError, format_names, read_drafts
from inference.importers.matching import apply_context, match_drafts, study_index
from viewer.records import Image, Study

DATA = Path(__file__).parents[1] / "data" / "imports"


def _regions(draft: object) -> list[tuple[str, str]]:
    return [(f.region, f.text) for f in draft.findings]  # type: ignore[attr-defined]


def _study(case_id: str, kind: str = "cxr", prior: bool = False) -> Study:
    shape = (1, 2, 2) if kind == "ct" else (2, 2)
    image = Image(pixels=np.zeros(shape, np.float32), spacing_mm=None, affine=np.eye(4), modality="DX",
                  photometric="MONOCHROME2", default_window=None, source=f"/data/{case_id}.png",
                  sha256="0" * 64)
    return Study(case_id=case_id, kind=kind, images=(image,),  # type: ignore[arg-type]
                 prior_report="old report" if prior else None)


def test_registry_lists_formats_and_suggests_close_names(tmp_path: Path) -> None:
    assert format_names() == ("llava-rad", "maira2", "reg2rg", "text", "vividmed")
    with pytest.raises(ValueError, match="did you mean 'llava-rad'"):
        read_drafts(DATA / "llava_rad_preds.jsonl", "llava_rad")
    with pytest.raises(ImportFileError, match="no such file"):
        read_drafts(tmp_path / "missing.jsonl", "llava-rad")


def test_llava_rad_eval_jsonl() -> None:
    result = read_drafts(DATA / "llava_rad_preds.jsonl", "llava-rad")
    assert [d.match_key for d in result.drafts] == ["s50414267", "s53189527"]
    first = result.drafts[0]
    assert first.row == 1
    assert first.reference_text == ("The lungs are clear. There is no pleural effusion or pneumothorax. "
                                    "Heart size is normal.")
    assert _regions(first.draft) == [
        ("lungs", "Patchy opacity in the right lower lobe may reflect pneumonia."),
        ("pleura", "No pleural effusion or pneumothorax."),
        ("heart", "The heart size is normal."),
        ("other", "Compared to the prior study, there is no significant change."),
    ]
    prov = first.draft.provenance
    assert prov.generator == "import:llava-rad"
    assert prov.model_id == UNKNOWN_MODEL
    assert prov.label == "llava_rad_preds.jsonl row 1"
    assert prov.prompts[0].endswith("indication: ___M with cough, eval for pneumonia")
    # line 3 is blank; line 4 has no prediction: reported, not dropped
    assert [(p.row, p.match_key, p.reason) for p in result.errors] == [(4, "s56699142", "no prediction text")]
    second = result.drafts[1].draft
    assert second.finding("f001").region == "support devices"
    assert second.finding("f002").region == "lungs"


def test_upstream_llava_model_vqa_fields() -> None:
    (item,) = read_drafts(DATA / "llava_vqa_answers.jsonl", "llava-rad").drafts
    assert item.match_key == "p10_s5001"
    assert item.draft.provenance.model_id == "llava-med-v1.5-mistral-7b"
    assert item.reference_text is None
    assert _regions(item.draft)[0] == ("heart", "Moderate cardiomegaly.")


def test_llava_rad_file_without_prediction_column_fails_naming_columns(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"id": "a", "answer": "b"}\n')
    with pytest.raises(ImportFileError, match="no prediction column; expected one of prediction, text"):
        read_drafts(bad, "llava-rad")
    bad.write_text('{"id": "a", "prediction": "b"}\n{oops\n')
    with pytest.raises(ImportFileError, match=r"x\.jsonl:2: not valid JSON"):
        read_drafts(bad, "llava-rad")


def test_text_folder_of_mimic_text_and_openi_xml() -> None:
    result = read_drafts(DATA / "text_reports", "text")
    by_key = {d.match_key: d for d in result.drafts}
    assert sorted(by_key) == ["openi_1", "s50414267"]
    mimic = by_key["s50414267"]
    assert mimic.indication == "___M with cough, eval for pneumonia"
    assert mimic.comparison == "None."
    assert mimic.draft.impression == "Right lower lobe pneumonia."
    assert [t for _, t in _regions(mimic.draft)] == [
        "Patchy opacity in the right lower lobe may reflect pneumonia.",
        "No pleural effusion or pneumothorax.", "Heart size is normal.",
        "PA and lateral views of the chest provided.",
        "Findings were discussed with Dr. ___ at 10:30 by telephone."]
    assert mimic.draft.provenance.label == "s50414267.txt row 1"
    openi = by_key["openi_1"]
    assert openi.indication == "Positive TB test"
    assert openi.draft.impression == "Normal chest x-XXXX."
    assert ("pleura", "There are no XXXX of a pleural effusion.") in _regions(openi.draft)
    assert openi.source_file == "openi_1.xml"


def test_text_impression_only_report_becomes_findings() -> None:
    (item,) = read_drafts(DATA / "impression_only.txt", "text").drafts
    assert item.draft.impression is None
    assert _regions(item.draft) == [("heart", "Stable mild cardiomegaly."),
                                    ("other", "No acute cardiopulmonary process.")]


def test_text_xml_with_entities_is_a_row_error_not_a_crash(tmp_path: Path) -> None:
    result = read_drafts(DATA / "evil.xml", "text")
    assert result.drafts == ()
    assert "DTD or entity" in result.errors[0].reason


def test_match_then_context_flags_like_generated_drafts() -> None:
    result = read_drafts(DATA / "llava_rad_preds.jsonl", "llava-rad")
    index = study_index([("s50414267", []), ("s53189527", [])], "id")
    matched = match_drafts(result, index, "id")
    studies = {"s50414267": _study("s50414267"), "s53189527": _study("s53189527")}
    without_prior = apply_context(matched, studies)
    flags = {f.text: f.flags for f in without_prior.drafts[0].draft.findings}
    assert flags["Compared to the prior study, there is no significant change."] == (
        "prior_reference_without_prior",)
    assert flags["Patchy opacity in the right lower lobe may reflect pneumonia."] == ("ungrounded",)
    assert flags["No pleural effusion or pneumothorax."] == ()
    with_prior = apply_context(matched, {"s50414267": _study("s50414267", prior=True),
                                         "s53189527": _study("s53189527")})
    assert all("prior_reference_without_prior" not in f.flags for f in with_prior.drafts[0].draft.findings)
    with pytest.raises(KeyError, match="s53189527"):
        apply_context(matched, {"s50414267": _study("s50414267")})


def test_reg2rg_result_csv() -> None:
    result = read_drafts(DATA / "reg2rg_results.csv", "reg2rg")
    assert [(p.row, p.match_key, p.reason) for p in result.errors] == [
        (2, "1335", "empty Pred_whole_report"), (3, None, "no AccNum")]
    first, second = result.drafts
    assert first.match_key == "1334" and first.row == 1
    assert [s.region for s in first.draft.sections][:3] == ["abdomen", "bones", "breasts"]  # CT order
    # "The other report is: {mediastinum: …}{pleura: …}{other: }" is filed per area, empty parts dropped
    assert _regions(first.draft) == [
        ("heart", "Heart size is normal."), ("heart", "No pericardial effusion."),
        ("lungs", "A small nodule is seen in the lower lobe of the right lung."),
        ("mediastinum", "No enlarged lymph node is found in mediastinum."),
        ("pleura", "No pleural effusion.")]
    assert first.reference_text == (
        "The shape of heart shadow and large vessels is normal. A single solid nodule shadow is seen in "
        "the lower lobe of the right lung with a size of about 3mm x 2mm. "
        "Bilateral pleural localized hypertrophy.")
    assert first.draft.provenance.prompts[0].startswith("The global information is provided")
    # an area that is not a CT region ("cerebellum") goes to the CT other section, flagged for the reviewer
    assert [(f.region, f.flags) for f in second.draft.findings] == [
        ("trachea and bronchi", ()), ("other", ("malformed_output",))]


def test_reg2rg_combined_report_columns_and_ct_only() -> None:
    (item,) = read_drafts(DATA / "reg2rg_combined.csv", "reg2rg").drafts
    assert _regions(item.draft) == [("thyroid", "A nodule in the right thyroid lobe.")]
    assert item.reference_text == "Normal thyroid."
    with pytest.raises(ValueError, match="reg2rg drafts are CT reports"):
        read_drafts(DATA / "reg2rg_combined.csv", "reg2rg", kind="cxr")


def test_maira2_grounded_sentences_keep_their_boxes() -> None:
    result = read_drafts(DATA / "maira2_grounded.jsonl", "maira2")
    a, b, c = result.drafts
    assert a.draft.provenance.model_id == "microsoft/maira-2"
    assert a.reference_text == "Small left effusion. Normal heart size."
    effusion = next(f for f in a.draft.findings if f.text == "Small left pleural effusion.")
    assert effusion.region == "pleura"
    (phrase,) = effusion.phrases
    assert phrase.span == (0, 28)
    assert phrase.grounding is not None and phrase.grounding.boxes == ((0.55, 0.6, 0.9, 0.85),)
    opacity = next(f for f in a.draft.findings if f.region == "lungs")
    assert len(opacity.phrases[0].grounding.boxes) == 2  # type: ignore[union-attr]
    assert next(f for f in a.draft.findings if f.region == "heart").phrases == ()
    # RadFact-style rows: {"text", "boxes": [{"x_min", …}]}, target as the reference
    picc = b.draft.finding("f001")
    assert (picc.region, picc.phrases[0].grounding.boxes) == (  # type: ignore[union-attr]
        "support devices", ((0.4, 0.2, 0.5, 0.3),))
    assert b.reference_text == "PICC in SVC."
    # processor-frame boxes on a 200x100 image: the centre crop is x 50..150 → 0.25..0.75
    assert c.draft.findings[0].phrases[0].grounding.boxes == ((0.25, 0.0, 0.75, 1.0),)  # type: ignore[union-attr]
    assert [(p.row, p.match_key) for p in result.errors] == [(4, "study-D"), (5, "study-E")]
    assert "4 numbers" in result.errors[0].reason
    assert "needs \"image_size\"" in result.errors[1].reason


def test_maira2_raw_grounded_string_and_out_of_range_box(tmp_path: Path) -> None:
    rows = tmp_path / "raw.jsonl"
    rows.write_text(
        '{"id": "r1", "image_size": [100, 100], "prediction": '
        '"<obj>Left lower lobe opacity</obj><box><x10><y60><x40><y90></box>. The heart is normal."}\n'
        '{"id": "r2", "prediction": [["Opacity.", [[0.2, 0.3, 1.4, 0.5]]]]}\n')
    result = read_drafts(rows, "maira2")
    (item,) = result.drafts
    grounded = item.draft.findings[0]
    assert grounded.text == "Left lower lobe opacity"
    # upstream adjust_box_for_original_image_size truncates pixels with int(): .105 * 100 → 10 → .1
    assert grounded.phrases[0].grounding.boxes == ((0.1, 0.6, 0.4, 0.9),)  # type: ignore[union-attr]
    assert result.errors[0].row == 2 and "outside [0, 1]" in result.errors[0].reason


def test_vividmed_p_tags_become_phrases() -> None:
    result = read_drafts(DATA / "vividmed_reports.jsonl", "vividmed")
    one, two = result.drafts
    effusion = one.draft.finding("f001")
    assert (effusion.region, effusion.text) == ("pleura", "There is a small left pleural effusion.")
    assert [(p.text, p.span) for p in effusion.phrases] == [("a small left pleural effusion", (9, 38))]
    assert two.draft.provenance.model_id == "VividMed"
    assert two.draft.sections[0].region == "abdomen"  # row kind "ct"
    assert _regions(two.draft) == [("lungs", "A nodule is seen in the right upper lobe."),
                                   ("mediastinum", "No mediastinal lymphadenopathy.")]
    assert [(p.row, p.reason) for p in result.errors] == [
        (3, "kind 'mri' is neither 'cxr' nor 'ct'"), (4, "no id")]


def test_reference_sections_use_the_same_region_assignment() -> None:
    from inference.importers.reference import reference_sections

    text = "FINDINGS: Small left pleural effusion. The heart is enlarged. No pneumothorax. IMPRESSION: CHF."
    assert reference_sections(text, "cxr") == {
        "pleura": "Small left pleural effusion. No pneumothorax.", "heart": "The heart is enlarged."}
    gt = ("The region 0 is heart: Heart size is normal. The region 1 is lung: Clear lungs. "
          "The other report is: {pleura: No effusion.}{other: }")
    assert reference_sections(gt, "ct", "reg2rg") == {
        "heart": "Heart size is normal.", "lungs": "Clear lungs.", "pleura": "No effusion."}


def test_hostile_files_fail_as_unreadable_input(tmp_path: Path) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n")
    with pytest.raises(ImportFileError, match="nested too deeply"):
        read_drafts(deep, "llava-rad")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00AccNum\x00")
    with pytest.raises(ImportFileError, match="cannot read as UTF-8"):
        read_drafts(binary, "reg2rg")
    wrong = tmp_path / "preds.txt"
    wrong.write_text("x")
    with pytest.raises(ImportFileError, match=r"expected \.jsonl, \.json or \.csv"):
        read_drafts(wrong, "maira2")
