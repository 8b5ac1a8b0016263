"""PS3.15 de-identification, and no identifying string reaching any export file (DESIGN §6)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from inference.artefacts import content_ref
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
from storage.deid import BASIC_PROFILE, PhiLeakError, assert_no_phi, phi_strings, safe_meta, scrub_dataset
from storage.exports import FORMATS, ExportFilter, export
from storage.records import IMPRESSION_ID, ReviewAction, ReviewedCase, StudyRecord
from storage.review import apply_actions
from tests.storage.dicom_phi import MARKERS, PRIVATE_MARKER, write_ct, write_cxr

ALL_MARKERS = [*MARKERS.values(), PRIVATE_MARKER]
CREATED = datetime(2026, 2, 1, tzinfo=UTC)


def test_scrub_removes_identifiers_and_keeps_uids(tmp_path: Path) -> None:
    import pydicom

    ds = pydicom.dcmread(write_cxr(tmp_path / "a.dcm"))
    clean = scrub_dataset(ds, "case-9")
    assert str(clean.PatientName) == "case-9^" and clean.PatientID == "case-9"
    assert clean.StudyDate == "" and "InstitutionName" not in clean and "ImageComments" not in clean
    assert "StudyDescription" not in clean and "OperatorsName" not in clean and "PatientBirthDate" in clean
    assert not any(e.tag.is_private for e in clean)
    assert clean.StudyInstanceUID == ds.StudyInstanceUID and clean.PatientIdentityRemoved == "YES"
    assert str(ds.PatientName) == MARKERS["PatientName"]  # the input is untouched
    remapped = scrub_dataset(ds, "case-9", retain_uids=False, salt="s")
    assert remapped.StudyInstanceUID.startswith("2.25.") and remapped.StudyInstanceUID != ds.StudyInstanceUID
    assert remapped.StudyInstanceUID == scrub_dataset(ds, "x", retain_uids=False, salt="s").StudyInstanceUID


def test_burned_in_annotation_is_not_copied(tmp_path: Path) -> None:
    import pydicom

    from storage.exports.images import sanitised_copy

    path = write_cxr(tmp_path / "a.dcm")
    ds = pydicom.dcmread(path)
    ds.BurnedInAnnotation = "YES"
    ds.save_as(path)
    with pytest.raises(ValueError, match="BurnedInAnnotation"):
        sanitised_copy(path, tmp_path / "out.dcm", "case-1")
    assert not (tmp_path / "out.dcm").exists()


def test_phi_strings_finds_the_markers(tmp_path: Path) -> None:
    import pydicom

    found = phi_strings(pydicom.dcmread(write_cxr(tmp_path / "a.dcm")))
    assert set(ALL_MARKERS) <= found


def test_profile_and_allow_list_agree() -> None:
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "InstitutionName",
                    "ReferringPhysicianName", "StudyDate", "StudyDescription", "ImageComments"):
        assert BASIC_PROFILE[keyword] in ("X", "Z", "D")
    assert safe_meta({"Modality": "CT", "StudyDescription": "x", "PatientName": "y", "Rows": 4}) == \
        {"Modality": "CT", "Rows": "4"}


def test_assert_no_phi_names_file_and_marker(tmp_path: Path) -> None:
    leaky = tmp_path / "x.json"
    leaky.write_text('{"a": "MRNMARK7731"}')
    with pytest.raises(PhiLeakError, match=r"x\.json.*MRNMARK7731"):
        assert_no_phi([leaky], ALL_MARKERS)


def _reviewed(case_id: str, kind: str, path: Path, mask: np.ndarray, box: tuple[float, ...]) -> ReviewedCase:
    """Read the study with viewer.io, draft it, review it (edit + sign) → ReviewedCase."""
    from viewer.io import load_study

    study = load_study(path, case_id=case_id)
    ref = content_ref(mask)
    region = "lungs"
    f1 = Finding("f1", region, "Opacity at the base.",
                 (Phrase("Opacity", (0, 7), Grounding(boxes=(box,), mask_ref=ref)),))
    draft = Draft(case_id, (Section(region, (f1,)),), "Opacity.", Provenance("builtin", "built-in"),
                  artefacts={ref: mask})
    t = datetime(2026, 1, 1, tzinfo=UTC)
    actions = [ReviewAction("edit", case_id, "d1", "ana", finding_id="f1",
                            after_text="Opacity at the left base.",
                            reason="wrong_location", grounding="keep", acted_at=t),
               ReviewAction("accept", case_id, "d1", "ana", finding_id=IMPRESSION_ID, acted_at=t),
               ReviewAction("sign", case_id, "d1", "ana", acted_at=t)]
    record = StudyRecord(case_id, study.kind, "signed", tuple(i.sha256 for i in study.images),
                         path.name, indication="Cough", meta=safe_meta(study.primary.meta))
    return ReviewedCase(record, draft, apply_actions(draft, "d1", study.kind, actions))


def test_no_marker_reaches_any_export_file(tmp_path: Path) -> None:
    pytest.importorskip("highdicom", reason="DICOM SR/SEG need the 'dicom' extra")
    data = tmp_path / "data"
    data.mkdir()
    write_cxr(data / "cxr.dcm", rows=8, cols=6)
    write_ct(data / "ct", slices=3, rows=4, cols=5)
    cxr_mask = np.zeros((8, 6), dtype=bool)
    cxr_mask[5:7, 1:3] = True
    ct_mask = np.zeros((3, 4, 5), dtype=bool)
    ct_mask[1, 1:3, 1:4] = True
    cases = [_reviewed("case-x", "cxr", data / "cxr.dcm", cxr_mask, (0.1, 0.6, 0.5, 0.9)),
             _reviewed("case-y", "ct", data / "ct", ct_mask, (0.2, 0.2, 0.3, 0.8, 0.6, 0.4))]
    assert cases[0].study.kind == "cxr" and cases[1].study.kind == "ct"

    def resolve(record: StudyRecord) -> list[Path]:
        p = data / record.data_path
        return sorted(p.glob("*.dcm")) if p.is_dir() else [p]

    outputs: list[Path] = []
    for fmt in FORMATS:
        result = export(fmt, cases, tmp_path / "out" / fmt, filters=ExportFilter(), copy_images=True,
                        image_resolver=resolve, created_at=CREATED)
        if fmt in ("dicom-sr", "dicom-seg"):
            assert result.counts["records"] == 2, result.skipped
        outputs.extend(p for p in (tmp_path / "out" / fmt).rglob("*") if p.is_file())
    assert len([p for p in outputs if p.suffix == ".dcm"]) >= 10  # image copies + SR + SEG
    assert_no_phi(outputs, ALL_MARKERS)
    _decoded_dicom_has_no_markers([p for p in outputs if p.suffix == ".dcm"])


def _decoded_dicom_has_no_markers(paths: list[Path]) -> None:
    import pydicom

    for path in paths:
        ds = pydicom.dcmread(path)
        text = "\n".join(str(e.value) for e in ds.iterall() if e.VR not in ("OB", "OW", "SQ"))
        leaked = [m for m in ALL_MARKERS if m in text]
        assert not leaked, f"{path}: decoded values contain {leaked}"
        assert ds.get("PatientIdentityRemoved") == "YES", path


def test_non_dicom_sources_are_skipped_for_sr(tmp_path: Path) -> None:
    pytest.importorskip("highdicom", reason="DICOM SR needs the 'dicom' extra")
    from tests.storage.export_cases import case_b

    png = tmp_path / "x.png"
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(png)
    result = export("dicom-sr", [case_b()], tmp_path / "out", image_resolver=lambda r: [png],
                    created_at=CREATED)
    assert result.counts["records"] == 0
    assert result.skipped == (("case-b", "DICOM SR/SEG need DICOM sources; this study's images are png"),)
    case = dataclasses.replace(case_b())
    result = export("dicom-seg", [case], tmp_path / "out2", created_at=CREATED)
    assert "no masks" in result.skipped[0][1] or "not available" in result.skipped[0][1]


def test_register_study_keeps_only_allow_listed_meta(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from storage.repository import Repository
    from viewer.records import Image, Study

    image = Image(pixels=np.zeros((4, 4), np.float32), spacing_mm=None, affine=np.eye(4), modality="DX",
                  photometric="MONOCHROME2", default_window=None, source="x.dcm", sha256="ab" * 32,
                  meta={"Modality": "DX", "StudyDescription": "SMITH^JOHN chest",
                        "AcquisitionPlane": "CORONAL"})
    repo = Repository.open(f"sqlite:///{tmp_path}/db.sqlite", tmp_path)
    record = repo.register_study(Study(case_id="c1", kind="cxr", images=(image,)), "studies/c1")
    # Rows/Columns of the 2D image are recorded even when the reader did not (exports map boxes with them)
    assert dict(record.meta) == {"Modality": "DX", "AcquisitionPlane": "CORONAL", "Rows": "4", "Columns": "4"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Cough, John Smith MRN 12345", "Cough, [NAME] [ID]"),
    ("Seen by Dr. Jane Doe on 03/04/2024, call 555-123-4567.", "Seen by [NAME] on [DATE], call [PHONE]."),
    ("Prior CT 2024-01-02 accession #889912, mary@example.org", "Prior CT [DATE] [ID], [EMAIL]"),
    ("Fever since 3 March 2024, patient Anna Maria Lopez", "Fever since [DATE], patient [NAME]"),
    ("Indication: Chest Pain, Left Lower Lobe", "Indication: Chest Pain, Left Lower Lobe"),
    ("Nodule 12 mm, follow-up in 3 months", "Nodule 12 mm, follow-up in 3 months"),
])
def test_scrub_text_replaces_identifying_spans(text: str, expected: str) -> None:
    from storage.deid import scrub_text

    assert scrub_text(text) == expected


def test_scrub_text_limits_are_as_documented() -> None:
    from storage.deid import free_text, scrub_text

    assert scrub_text("Smith has a cough.") == "Smith has a cough."  # one name at a sentence start: missed
    assert free_text("Smith has a cough.", "drop") is None  # what to use when that is not enough
    with pytest.raises(ValueError, match="free-text policy"):
        free_text("x", "keep")
