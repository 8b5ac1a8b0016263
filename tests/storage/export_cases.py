"""Deterministic reviewed cases for export and metrics tests: draft + actions → ReviewedCase.

Fixed ids, hashes and timestamps so golden files are byte-stable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
from storage.exports.common import SourceResolver
from storage.records import IMPRESSION_ID, ReviewAction, ReviewedCase, StudyRecord
from storage.review import apply_actions

T0 = datetime(2026, 1, 2, 9, 0, 0, tzinfo=UTC)
SHA_A = "a" * 64
SHA_A_LAT = "b" * 64
SHA_B = "c" * 64
SHA_C = "d" * 64
SHA_D = "e" * 64


def cxr_draft(case_id: str, model: str = "built-in", generator: str = "builtin") -> Draft:
    """Three CXR findings: a grounded lung nodule, a pleural effusion and a normal heart."""
    f1 = Finding("f1", "lungs", "A 6 mm nodule in the left upper lobe.",
                 (Phrase("6 mm nodule", (2, 13), Grounding(boxes=((0.6, 0.2, 0.7, 0.3),))),))
    f2 = Finding("f2", "pleura", "Small right pleural effusion.",
                 (Phrase("pleural effusion", (12, 28), Grounding(boxes=((0.1, 0.7, 0.3, 0.9),))),))
    f3 = Finding("f3", "heart", "Heart size is normal.")
    return Draft(case_id, (Section("lungs", (f1,)), Section("pleura", (f2,)), Section("heart", (f3,))),
                 "Left upper lobe nodule.", Provenance(generator, model, input_sha256s=(SHA_A,)))


def ct_draft(case_id: str) -> Draft:
    """Two CT findings, one with a 3D box and a mask reference."""
    g = Grounding(boxes=((0.5, 0.4, 0.3, 0.6, 0.5, 0.4),), mask_ref="sha256:" + "1" * 64, source="segmenter")
    f1 = Finding("f1", "lungs", "Consolidation in the right lower lobe.",
                 (Phrase("Consolidation", (0, 13), g),))
    f2 = Finding("f2", "heart", "No pericardial effusion.")
    return Draft(case_id, (Section("heart", (f2,)), Section("lungs", (f1,))), None,
                 Provenance("builtin", "built-in"))


def _action(case_id: str, kind: str, minute: int, shown: int | None = None, **kw: object) -> ReviewAction:
    acted = T0 + timedelta(minutes=minute)
    shown_at = acted - timedelta(seconds=shown) if shown is not None else None
    kw.setdefault("reviewer", "ana")
    return ReviewAction(kind=kind, case_id=case_id, draft_id=f"d-{case_id}",  # type: ignore[arg-type]
                        shown_at=shown_at, acted_at=acted, **kw)


def _case(study: StudyRecord, draft: Draft, actions: list[ReviewAction]) -> ReviewedCase:
    state = apply_actions(draft, f"d-{study.case_id}", study.kind, actions)
    return ReviewedCase(study=study, draft=draft, state=state)


def case_a() -> ReviewedCase:
    """CXR, frontal + lateral, edited, box moved, one finding rejected, one added; signed by ana."""
    draft = cxr_draft("case-a")
    moved = Grounding(boxes=((0.62, 0.55, 0.72, 0.65),), source="reviewer")
    acts = [
        _action("case-a", "edit", 1, 30, finding_id="f1", before_text=draft.findings[0].text,
                after_text="A 6 mm nodule in the left lower lobe.", reason="wrong_location"),
        _action("case-a", "move_box", 2, 10, finding_id="f1", phrase_index=0, after_grounding=moved,
                before_grounding=draft.findings[0].phrases[0].grounding, reason="grounding_error"),
        _action("case-a", "reject", 3, 20, finding_id="f2", reason="false_finding",
                clinically_significant=True),
        _action("case-a", "accept", 4, 5, finding_id="f3"),
        _action("case-a", "add", 5, 40, finding_id="r1", region="bones", after_text="Old left rib fracture.",
                reason="missed_finding", after_grounding=Grounding(boxes=((0.7, 0.4, 0.8, 0.5),),
                                                                   source="reviewer")),
        _action("case-a", "edit", 5, 15, finding_id=IMPRESSION_ID, before_text=draft.impression,
                after_text="Left lower lobe nodule.", reason="wrong_location"),
        _action("case-a", "sign", 6),
    ]
    study = StudyRecord("case-a", "cxr", "signed", (SHA_A, SHA_A_LAT), "studies/case-a.dcm",
                        indication="Cough, John Smith MRN 12345.",
                        meta={"Rows": "200", "Columns": "100", "ViewPosition": "PA",
                              "lateral_path": "studies/case-a-lat.png"})
    return _case(study, draft, acts)


def case_b() -> ReviewedCase:
    """CXR accepted unchanged by ben, drafted by an hf model."""
    draft = cxr_draft("case-b", model="microsoft/maira-2", generator="hf")
    acts = [_action("case-b", "accept", 60 * 24 * 3 + i, 8, finding_id=f, reviewer="ben")
            for i, f in enumerate(("f1", "f2", "f3"), start=1)]
    acts.append(_action("case-b", "accept", 60 * 24 * 3 + 4, 4, finding_id=IMPRESSION_ID, reviewer="ben"))
    acts.append(_action("case-b", "sign", 60 * 24 * 3 + 4, reviewer="ben"))
    study = StudyRecord("case-b", "cxr", "signed", (SHA_B,), "studies/case-b", indication=None)
    return _case(study, draft, acts)


def case_c() -> ReviewedCase:
    """CT: the heart sentence edited for style, lungs accepted; signed by ana a day after case-a."""
    draft = ct_draft("case-c")
    acts = [_action("case-c", "accept", 60 * 24 + 1, 12, finding_id="f1"),
            _action("case-c", "edit", 60 * 24 + 2, 18, finding_id="f2",
                    before_text="No pericardial effusion.", after_text="No pericardial effusion is seen.",
                    reason="style"),
            _action("case-c", "accept", 60 * 24 + 3, 3, finding_id=IMPRESSION_ID),
            _action("case-c", "sign", 60 * 24 + 3)]
    study = StudyRecord("case-c", "ct", "signed", (SHA_C,), "studies/case-c", indication="Fever.")
    return _case(study, draft, acts)


def case_d() -> ReviewedCase:
    """CXR in review (not signed): one finding accepted."""
    draft = cxr_draft("case-d")
    study = StudyRecord("case-d", "cxr", "in_review", (SHA_D,), "studies/case-d")
    return _case(study, draft, [_action("case-d", "accept", 90, 6, finding_id="f1", reviewer="ben")])


def all_cases() -> list[ReviewedCase]:
    """The four cases, in registration order."""
    return [case_a(), case_b(), case_c(), case_d()]


def write_sources(folder: Path) -> SourceResolver:
    """Real source files for the CXR cases (case-a: a 200×100 DX DICOM + a PNG lateral; case-b and
    case-d: a 64×64 PNG) and a resolver in the shape of ``data_dir_resolver`` (frontal first, lateral
    last). CT cases have none here (the regions tests inject their volume)."""
    import numpy as np
    from PIL import Image

    from tests.storage.dicom_phi import write_cxr

    frontal = write_cxr(folder / "case-a.dcm", rows=200, cols=100)
    lateral = folder / "case-a-lat.png"
    Image.fromarray(np.tile(np.arange(50, dtype=np.uint8) * 5, (50, 1))).save(lateral)
    square = folder / "case-b.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 3, (64, 1))).save(square)
    files = {"case-a": [frontal, lateral], "case-b": [square], "case-d": [square]}
    return lambda study: files.get(study.case_id, [])
