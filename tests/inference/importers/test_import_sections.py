"""Report section splitting on real report layouts (MIMIC-CXR text, flattened, Open-i XML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.importers.base import ImportFileError
from inference.importers.sections import canonical_header, findings_and_impression, split_sections
from inference.importers.text import xml_sections

DATA = Path(__file__).parents[1] / "data" / "imports"


def test_mimic_layout_with_headers_on_their_own_lines() -> None:
    text = (DATA / "text_reports" / "s50414267.txt").read_text()
    s = split_sections(text)
    assert s["preamble"] == "FINAL REPORT"
    assert s["technique"] == "CHEST (PA AND LAT)"
    assert s["indication"] == "___M with cough, eval for pneumonia"
    assert s["comparison"] == "None."
    assert s["findings"].startswith("PA and lateral views of the chest provided. Patchy opacity")
    assert s["findings"].endswith("at 10:30 by telephone.")
    assert s["impression"] == "Right lower lobe pneumonia."


def test_headers_are_case_and_colon_tolerant() -> None:
    s = split_sections("clinical history: fever\nFindings\nLungs clear.\nimpression -\nconclusion: Normal")
    assert s == {"indication": "fever", "findings": "Lungs clear. impression -", "impression": "Normal"}


def test_flattened_upper_case_headers_split_inside_a_line() -> None:
    s = split_sections("FINDINGS: The heart is normal. IMPRESSION: Normal chest.")
    assert s == {"findings": "The heart is normal.", "impression": "Normal chest."}


def test_findings_and_impression_is_one_section() -> None:
    for header in ("FINDINGS AND IMPRESSION:", "Findings/Impression:", "findings & impressions:"):
        s = split_sections(f"{header} No acute process.")
        assert s == {"findings_impression": "No acute process."}
        assert findings_and_impression(s) == ("No acute process.", None)


def test_sentences_that_start_with_a_header_word_are_not_headers() -> None:
    text = "Comparison is made to the prior radiograph. History of hypertension. Findings suggest edema."
    assert split_sections(text) == {"findings": text}


def test_report_without_headers_is_all_findings_and_empty_is_empty() -> None:
    text = "The lungs are clear.\n\nNo effusion."
    assert split_sections(text) == {"findings": "The lungs are clear. No effusion."}
    assert split_sections("  \n ") == {}


def test_repeated_headers_are_joined() -> None:
    assert split_sections("FINDINGS: A.\nFINDINGS: B.")["findings"] == "A. B."


def test_impression_only_report_is_reviewed_as_findings() -> None:
    assert findings_and_impression({"impression": "Stable."}) == ("Stable.", None)
    assert findings_and_impression({"findings": "A.", "impression": "B."}) == ("A.", "B.")


@pytest.mark.parametrize(("label", "name"), [
    ("FINDINGS", "findings"), ("Impression:", "impression"),
    ("Findings and Impression", "findings_impression"),
    ("REASON FOR EXAMINATION", "indication"), ("comparisons", "comparison"), ("Addendum", None)])
def test_canonical_header(label: str, name: str | None) -> None:
    assert canonical_header(label) == name


def test_openi_xml_sections() -> None:
    s = xml_sections((DATA / "text_reports" / "openi_1.xml").read_text())
    assert s["comparison"] == "None."
    assert s["indication"] == "Positive TB test"
    assert s["findings"].startswith("The cardiac silhouette and mediastinum size are within normal limits.")
    assert s["impression"] == "Normal chest x-XXXX."


def test_xml_with_entities_is_refused_and_malformed_xml_names_the_file() -> None:
    with pytest.raises(ImportFileError, match="DTD or entity"):
        xml_sections((DATA / "evil.xml").read_text(), "evil.xml")
    with pytest.raises(ImportFileError, match=r"bad\.xml: malformed XML"):
        xml_sections("<report><findings>x</report>", "bad.xml")
