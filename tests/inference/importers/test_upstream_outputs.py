"""Importers fed outputs in the exact upstream form — Reg2RG's released CTRG predictions (a committed
excerpt, see ``data/README.md``) and VividMed's evaluation CSV layout — including truncated ones."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from inference.importers import read_drafts

DATA = Path(__file__).parent / "data"
CTRG = DATA / "reg2rg_ctrg_excerpt.csv"  # zhi-xuan-chen/Reg2RG@4effe09:results/Reg2RG_ctrg/…reports.csv
BRAIN = re.compile(r"cerebr|brain|ventric|basal ganglia|sulci|gyri|cistern|cerebell|white matter", re.I)


def _by_key(result: object) -> dict[str, object]:
    return {d.match_key: d.draft for d in result.drafts}  # type: ignore[attr-defined]


def test_ctrg_predictions_file_brain_sentences_under_other_only() -> None:
    """Reg2RG's ``{other: …}`` report (brain findings in CTRG) has the CT ``other`` section as its home;
    no brain sentence lands under lungs/heart/mediastinum/pleura (the old import filed them there)."""
    drafts = _by_key(read_drafts(CTRG, "reg2rg"))
    assert sorted(drafts) == ["1118", "1334", "1336", "1506", "1703", "260"]
    misfiled = [
        (key, s.region, f.text)
        for key, d in drafts.items()
        for s in d.sections  # type: ignore[attr-defined]
        for f in s.findings
        if BRAIN.search(f.text) and s.region != "other"
    ]
    assert misfiled == []
    other = {
        key: [f.text for s in d.sections if s.region == "other" for f in s.findings]  # type: ignore[attr-defined]
        for key, d in drafts.items()
    }
    assert len(other["260"]) == 1 and other["260"][0].startswith(
        "Bilateral cerebral hemispheres are symmetrical"
    )
    assert other["1334"] == []  # "{other: }" is empty


def test_ctrg_region_blocks_and_upstream_spellings_are_read() -> None:
    drafts = _by_key(read_drafts(CTRG, "reg2rg"))

    def regions(key: str) -> dict[str, list[str]]:
        return {s.region: [f.text for f in s.findings] for s in drafts[key].sections if s.findings}  # type: ignore[attr-defined]

    assert regions("1506")["thyroid"] == ["Nodular low density shadow is seen in the right lobe of thyroid."]
    assert "The trachea is in the middle, and the local bronchie is slightly dilated." in " ".join(
        regions("1336")["trachea and bronchi"]
    )
    assert regions("1703")["bones"] == ["The bone window shows no obvious signs of skull fracture."]
    assert regions("1334")["pleura"] == ["No pleural effusion or pleural thickening."]


def test_ctrg_prediction_cut_off_inside_its_other_block_is_kept_and_flagged() -> None:
    """AccNum 1118 ends mid-sentence inside ``{other: …`` (max_new_tokens hit): its sentences go to
    ``other`` flagged ``malformed_output``; the closed region reports before it stay unflagged."""
    draft = _by_key(read_drafts(CTRG, "reg2rg"))["1118"]
    sections = {s.region: s.findings for s in draft.sections}  # type: ignore[attr-defined]
    assert sections["other"] and all(f.flags == ("malformed_output",) for f in sections["other"])
    assert sections["other"][-1].text == "The sulci, cisterns, and gyri are"
    assert sections["heart"] and all(f.flags == () for f in sections["heart"])


def test_vividmed_eval_csv_question_answer_prediction(tmp_path: Path) -> None:
    """function2-llx/MMMM@c3c9caa ``scripts/evaluate/utils.py`` ``dump_results`` writes exactly
    ``question, answer, prediction`` (no id); phrases as ``MMMMTokenizer.wrap_name``: ``<p> name</p>``."""
    path = tmp_path / "vividmed_eval.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["question", "answer", "prediction"], lineterminator="\n")
        writer.writeheader()
        writer.writerow(
            {
                "question": "Can you provide a radiology report for this medical image?",
                "answer": "Small left pleural effusion.",
                "prediction": "There is a small <p> left pleural effusion</p>. The <p> heart</p> is normal.",
            }
        )
        writer.writerow(
            {
                "question": "Can you provide a radiology report for this medical image?",
                "answer": "Normal.",
                "prediction": "The <p> lungs</p> are clear. <p> Right",
            }
        )  # cut off
    result = read_drafts(path, "vividmed")
    first, second = result.drafts
    assert (first.match_key, first.row, first.reference_text) == ("1", 1, "Small left pleural effusion.")
    findings = [f for s in first.draft.sections for f in s.findings]
    assert [(f.region, [p.text for p in f.phrases]) for f in findings] == [
        ("pleura", ["left pleural effusion"]),
        ("heart", ["heart"]),
    ]
    assert first.draft.provenance.prompts == ("Can you provide a radiology report for this medical image?",)
    flagged = [f for s in second.draft.sections for f in s.findings]
    assert flagged and all("malformed_output" in f.flags for f in flagged)
