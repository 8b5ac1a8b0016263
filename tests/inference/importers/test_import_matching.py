"""Matching imported drafts to studies: exact keys, unmatched and ambiguous rows reported."""

from __future__ import annotations

from inference.importers.base import ImportedDraft, ImportProblem, ImportResult, assemble, provenance
from inference.importers.matching import file_key, match_drafts, study_index
from inference.records import Finding


def _imported(key: str, row: int) -> ImportedDraft:
    from pathlib import Path

    prov = provenance("text", Path("r.jsonl"), row)
    draft = assemble(key, "cxr", [Finding(id="x", region="lungs", text="Clear.")], None, prov)
    return ImportedDraft(match_key=key, draft=draft, reference_text=None, row=row)


def test_file_key_strips_folders_and_all_suffixes() -> None:
    assert file_key("/data/CXR1_1_IM-0001-3001.png") == "cxr1_1_im-0001-3001"
    assert file_key("scans/ct_042.nii.gz") == "ct_042"
    assert file_key("series_dir/") == "series_dir"


def test_match_by_id_rekeys_and_reports_unmatched() -> None:
    result = ImportResult("text", "r.jsonl", (_imported("A", 1), _imported("B", 2)),
                          (ImportProblem(3, None, "no id"),))
    index = study_index([("A", ["a.png"]), ("C", ["b.png"])], "id")
    out = match_drafts(result, index, "id")
    assert [d.draft.case_id for d in out.drafts] == ["A"]
    assert out.unmatched == (ImportProblem(2, "B", "no study with case id 'B'"),)
    assert [p.row for p in out.problems] == [2, 3]


def test_match_by_filename_is_case_insensitive_and_flags_ambiguity() -> None:
    result = ImportResult("text", "r", (_imported("CXR1_1_IM-0001", 1), _imported("dup", 2)))
    index = study_index([("case-7", ["/x/cxr1_1_im-0001.dcm"]), ("case-8", ["/y/dup.png"]),
                         ("case-9", ["/z/dup.dcm"])], "filename")
    out = match_drafts(result, index, "filename")
    assert [(d.match_key, d.draft.case_id) for d in out.drafts] == [("CXR1_1_IM-0001", "case-7")]
    assert out.unmatched[0].reason == "'dup' matches several studies: case-8, case-9"
