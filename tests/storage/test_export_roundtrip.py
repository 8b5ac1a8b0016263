"""The golden round trip: review actions recorded in a real repository → ``reviewed_cases`` → every
export format → the training targets read back. It fails if a rejected finding, an unreviewed
impression, a stale box, a pending finding or a PHI marker reaches a training target (PHI: anywhere in
any output file), and compares the targets with tests/storage/golden/roundtrip.json."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference.artefacts import content_ref
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
from storage.exports import ExportFilter, export
from storage.exports.images import data_dir_resolver
from storage.records import IMPRESSION_ID, ReviewAction
from storage.repository import Repository
from storage.review import default_grounding
from tests.golden import check_golden
from tests.storage.dicom_phi import MARKERS, PRIVATE_MARKER, write_cxr

CREATED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden" / "roundtrip.json"
STALE_BOX = (0.11, 0.22, 0.33, 0.44)
CORRECTED = np.zeros((200, 100), bool)
CORRECTED[150:170, 10:30] = True
POISON = ("POISONREJECTED", "POISONPENDING", "POISONUNREVIEWED", "POISONDRAFTIMPRESSION")
PHI = ("John Smith", "12345", "555-867-5309", *MARKERS.values(), PRIVATE_MARKER)
FORMATS = ("llava", "sft", "dpo", "radfact", "maira2", "regions", "dicom-sr", "dicom-seg")


def _cxr_draft(case_id: str, mask: np.ndarray) -> Draft:
    ref = content_ref(mask)
    f1 = Finding("f1", "pleura", "POISONREJECTED right pleural effusion.")
    f2 = Finding("f2", "lungs", "Nodule in the left upper zone.",
                 (Phrase("Nodule", (0, 6), Grounding(boxes=(STALE_BOX,), mask_ref=ref)),))
    f3 = Finding("f3", "heart", "Heart size is normal.")
    f4 = Finding("f4", "bones", "POISONPENDING rib lesion.")
    return Draft(case_id, (Section("lungs", (f2,)), Section("pleura", (f1,)), Section("heart", (f3,)),
                           Section("bones", (f4,))),
                 "POISONDRAFTIMPRESSION effusion.", Provenance("hf", "org/model", "rev1", prompts=("p",)),
                 artefacts={ref: mask})


def _act(repo: Repository, case: str, draft: str, kind: str, **kw: Any) -> None:
    state = repo.review_state(case)
    fid = kw.get("finding_id")
    if kind in ("sign", "regenerate"):
        base = state.version
    elif fid == IMPRESSION_ID:
        base = state.impression_version
    else:
        base = state.state_of(fid).version if fid else 0
    repo.record_action(ReviewAction(kind, case, draft, "ana", base_version=base, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two CXR reviews (one signed, one not) and one signed CT review, exported in every format."""
    import dataclasses

    import nibabel as nib

    from viewer.io import load_study

    root = tmp_path_factory.mktemp("roundtrip")
    data = root / "data"
    repo = Repository.open(None, data)
    repo.add_reviewer("ana")
    mask = np.zeros((200, 100), bool)
    mask[20:40, 10:30] = True
    for case_id, uid in (("signed-cxr", "1.2.3.1"), ("open-cxr", "1.2.3.2")):
        path = write_cxr(data / "studies" / f"{case_id}.dcm", rows=200, cols=100)
        import pydicom

        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = uid
        ds.save_as(path)
        study = dataclasses.replace(load_study(path, case_id=case_id),
                                    indication="Cough, John Smith MRN 12345, call 555-867-5309")
        repo.register_study(study, f"studies/{case_id}.dcm")
        repo.save_draft(_cxr_draft(case_id, mask))
    d = repo.review_state("signed-cxr").draft_id
    _act(repo, "signed-cxr", d, "reject", finding_id="f1", reason="false_finding")
    upper, lower = "Nodule in the left upper zone.", "Nodule in the left lower zone."
    assert default_grounding("other", upper, lower) == "drop"  # a location word changed
    _act(repo, "signed-cxr", d, "edit", finding_id="f2", before_text="Nodule in the left upper zone.",
         after_text="Nodule in the left lower zone.", reason="other",
         grounding=default_grounding("other", upper, lower))
    repo.artefacts.save(content_ref(CORRECTED), CORRECTED)  # the reviewer re-grounds the moved nodule
    _act(repo, "signed-cxr", d, "edit_mask", finding_id="f2", phrase_index=0, reason="grounding_error",
         after_grounding=Grounding(mask_ref=content_ref(CORRECTED), source="reviewer"))
    _act(repo, "signed-cxr", d, "accept", finding_id="f3")
    _act(repo, "signed-cxr", d, "reject", finding_id="f4", reason="false_finding")
    _act(repo, "signed-cxr", d, "edit", finding_id=IMPRESSION_ID,
         before_text="POISONDRAFTIMPRESSION effusion.", after_text="Left lower zone nodule.",
         reason="false_finding")
    _act(repo, "signed-cxr", d, "sign")
    o = repo.review_state("open-cxr").draft_id
    _act(repo, "open-cxr", o, "accept", finding_id="f3")  # the rest (and the impression) stay pending
    hu = np.full((6, 8, 10), -1000.0, dtype=np.float32)
    hu[1:5, 2:6, 2:8] = 40.0
    ct_path = data / "studies" / "ct.nii.gz"
    nib.save(nib.Nifti1Image(hu, np.eye(4)), str(ct_path))
    ct = load_study(ct_path, case_id="signed-ct")
    repo.register_study(ct, "studies/ct.nii.gz")
    lung = Finding("c1", "lungs", "POISONREJECTED ground-glass opacity.")
    heart = Finding("c2", "heart", "Normal heart size.")
    repo.save_draft(Draft("signed-ct", (Section("heart", (heart,)), Section("lungs", (lung,))),
                          "POISONDRAFTIMPRESSION opacity.", Provenance("builtin", "built-in")))
    c = repo.review_state("signed-ct").draft_id
    _act(repo, "signed-ct", c, "reject", finding_id="c1", reason="false_finding")
    _act(repo, "signed-ct", c, "accept", finding_id="c2")
    _act(repo, "signed-ct", c, "edit", finding_id=IMPRESSION_ID, before_text="POISONDRAFTIMPRESSION opacity.",
         after_text="No acute abnormality.", reason="false_finding")
    _act(repo, "signed-ct", c, "sign")
    ct_image = load_study(ct_path).primary
    heart_mask = np.zeros(ct_image.pixels.shape, bool)
    heart_mask[2:4, 3:5, 3:6] = True
    out: dict[str, Path] = {}
    for fmt in FORMATS:
        out[fmt] = root / fmt
        export(fmt, list(repo.reviewed_cases(signed_only=False)), out[fmt],
               filters=ExportFilter(signed_only=False), image_resolver=data_dir_resolver(data),
               artefact_loader=repo.load_artefact, created_at=CREATED,
               region_masks=lambda case: (ct_image, {"heart": heart_mask}))
    repo.close()
    return out


def _targets(fmt: str, folder: Path) -> list[str]:
    """The training targets (or, for DICOM, the report content) of an export, as text."""
    if fmt == "llava":
        return [r["conversations"][1]["value"] for r in json.loads((folder / "llava.json").read_text())]
    if fmt in ("sft", "dpo"):
        rows = [json.loads(x) for x in (folder / "metadata.jsonl").read_text().splitlines()]
        key = "messages" if fmt == "sft" else "chosen"
        return [json.dumps(r[key][-1], ensure_ascii=False) for r in rows]
    if fmt == "radfact":
        return [json.dumps(e["target"]) for e in json.loads((folder / "radfact.json").read_text())]
    if fmt == "maira2":
        return [json.loads(x)["assistant_text"] for x in (folder / "maira2.jsonl").read_text().splitlines()]
    if fmt == "regions":
        return [r["Sentence"] for r in csv.DictReader((folder / "radgenome.csv").open(encoding="utf-8"))]
    import pydicom

    texts = []
    for path in sorted(folder.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        texts += [str(e.value) for e in ds.iterall() if e.keyword in ("TextValue", "SegmentLabel")]
    return texts


def _stale_box_strings() -> list[str]:
    from storage.exports.maira2 import box_tokens, to_square_crop

    radfact = json.dumps(dict(zip(("x_min", "y_min", "x_max", "y_max"), STALE_BOX, strict=True)))
    return [radfact[1:-1], box_tokens(to_square_crop(STALE_BOX, 100, 200)), box_tokens(STALE_BOX),
            "0.11, 0.22"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_nothing_poisoned_reaches_a_target(fmt: str, outputs: dict[str, Path]) -> None:
    targets = _targets(fmt, outputs[fmt])
    assert targets, f"{fmt}: no target written"
    joined = "\n".join(targets)
    for marker in (*POISON, *_stale_box_strings()):
        assert marker not in joined, f"{fmt}: {marker!r} reached a training target"
    for path in outputs[fmt].rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            for marker in PHI:
                assert marker.encode() not in blob, f"{path.name}: PHI marker {marker!r}"


def test_targets_match_the_golden(outputs: dict[str, Path]) -> None:
    summary = {fmt: _targets(fmt, outputs[fmt]) for fmt in FORMATS}
    text = json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
    check_golden(GOLDEN, text)


def test_unsigned_records_say_so(outputs: dict[str, Path]) -> None:
    rows = {r["id"]: r for r in json.loads((outputs["llava"] / "llava.json").read_text())}
    assert rows["open-cxr"]["provenance"]["signed"] is False
    assert rows["open-cxr"]["conversations"][1]["value"] == "HEART: Heart size is normal."
    assert rows["signed-cxr"]["provenance"]["model_revision"] == "rev1"
    assert rows["signed-cxr"]["provenance"]["prompt_sha256"] is not None


def test_seg_holds_the_reviewer_mask_not_the_stale_one(outputs: dict[str, Path]) -> None:
    hd = pytest.importorskip("highdicom")
    (path,) = sorted(outputs["dicom-seg"].rglob("*.dcm"))
    seg = hd.seg.segread(path)
    frame = np.asarray(seg.pixel_array).reshape(200, 100) > 0
    assert np.array_equal(frame, CORRECTED)
