"""DICOM SR (TID 1500) and SEG exports decoded back: texts, references, mask geometry."""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from storage.exports import export
from storage.exports.dicom_seg import canonical_to_source
from tests.storage.dicom_phi import write_ct, write_cxr
from tests.storage.export_cases import case_a, case_c

hd = pytest.importorskip("highdicom", reason="DICOM SR/SEG need the 'dicom' extra (highdicom)")
pydicom = pytest.importorskip("pydicom")
CREATED = datetime(2026, 2, 1, tzinfo=UTC)


def _texts(ds: object) -> list[str]:
    return [str(e.value) for e in ds.iterall() if e.keyword == "TextValue"]  # type: ignore[attr-defined]


def test_sr_holds_final_findings_and_references_the_source(tmp_path: Path) -> None:
    src = write_cxr(tmp_path / "a.dcm", rows=200, cols=100)
    case = case_a()
    case = dataclasses.replace(case, study=dataclasses.replace(case.study, source_sha256s=("a" * 64,)))
    result = export("dicom-sr", [case], tmp_path / "out", image_resolver=lambda r: [src], created_at=CREATED)
    sr = pydicom.dcmread(result.files[0])
    source = pydicom.dcmread(src)
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    texts = _texts(sr)
    assert "A 6 mm nodule in the left lower lobe." in texts and "Old left rib fracture." in texts
    assert "Small right pleural effusion." not in texts  # rejected
    assert any(t.startswith("bones: r1") for t in texts)  # tracking identifier names the region
    # the moved box (0.62, 0.55, 0.72, 0.65) as a closed pixel polyline on the 100×200 image
    coords = [list(e.value) for e in sr.iterall() if e.keyword == "GraphicData"]
    assert [62.0, 110.0, 72.0, 110.0, 72.0, 130.0, 62.0, 130.0, 62.0, 110.0] in coords
    again = export("dicom-sr", [case], tmp_path / "out2", image_resolver=lambda r: [src], created_at=CREATED)
    assert pydicom.dcmread(again.files[0]).SOPInstanceUID == sr.SOPInstanceUID  # deterministic UIDs


def test_seg_maps_canonical_masks_onto_source_slices(tmp_path: Path) -> None:
    files = write_ct(tmp_path / "ct", slices=3, rows=4, cols=5)  # z = 100, 98, 96 on disk
    mask = np.zeros((3, 4, 5), dtype=bool)
    mask[0, 1, 2] = True  # most inferior slice (z = 96) in the canonical SPL volume
    mask[2, 3, 4] = True  # most superior (z = 100)
    ref = "sha256:" + "1" * 64
    result = export("dicom-seg", [case_c()], tmp_path / "out", image_resolver=lambda r: files,
                    artefact_loader={ref: mask}.__getitem__, created_at=CREATED)
    assert result.counts["records"] == 1, result.skipped
    seg = hd.seg.segread(result.files[0])
    uids = [pydicom.dcmread(f).SOPInstanceUID for f in files]
    frames = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1])[..., 0]
    assert [tuple(p) for p in np.argwhere(frames)] == [(0, 3, 4), (2, 1, 2)]
    assert seg.SegmentSequence[0].SegmentLabel == "lungs: Consolidation in the right lower lobe."
    assert str(seg.PatientName) == "case-c^"


def test_canonical_to_source_handles_flipped_orientation() -> None:
    class Slice:
        def __init__(self, z: float) -> None:
            self.ImageOrientationPatient = [1, 0, 0, 0, -1, 0]  # columns run left, rows run anterior
            self.ImagePositionPatient = [0.0, 0.0, z]

    sources = [Slice(10.0), Slice(0.0)]
    canonical = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # [S, P, L]
    ordered, frames = canonical_to_source(canonical, sources)  # type: ignore[arg-type]
    assert [s.ImagePositionPatient[2] for s in ordered] == [10.0, 0.0]  # normal is -z: superior first
    np.testing.assert_array_equal(frames, canonical[::-1, ::-1, :])


def _content(items: object, depth: int = 0) -> list[list[object]]:
    """The SR content tree as rows: depth, relationship, value type, concept, value."""
    rows: list[list[object]] = []
    for item in items:  # type: ignore[attr-defined]
        name = item.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in item else ""
        value: object = None
        if "TextValue" in item:
            value = str(item.TextValue)
        elif "ConceptCodeSequence" in item:
            value = item.ConceptCodeSequence[0].CodeMeaning
        elif "UID" in item:
            value = str(item.UID)
        elif "GraphicData" in item:
            value = [float(v) for v in item.GraphicData]
        elif "PersonName" in item:
            value = str(item.PersonName)
        rows.append([depth, item.get("RelationshipType", ""), item.ValueType, name, value])
        if "ContentSequence" in item:
            rows.extend(_content(item.ContentSequence, depth + 1))
    return rows


def _golden(name: str, summary: object) -> None:
    import json

    from tests.golden import check_golden

    text = json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
    check_golden(Path(__file__).parent / "golden" / name, text)


def test_sr_golden(tmp_path: Path) -> None:
    src = write_cxr(tmp_path / "a.dcm", rows=200, cols=100)
    result = export("dicom-sr", [case_a()], tmp_path / "out", image_resolver=lambda r: [src],
                    created_at=CREATED)
    sr = pydicom.dcmread(result.files[0])
    summary = {"SOPInstanceUID": sr.SOPInstanceUID, "PatientName": str(sr.PatientName),
               "PatientID": sr.PatientID, "StudyInstanceUID": sr.StudyInstanceUID,
               "ConceptName": sr.ConceptNameCodeSequence[0].CodeMeaning,
               "content": _content(sr.ContentSequence)}
    _golden("dicom-sr.json", summary)


def test_seg_golden(tmp_path: Path) -> None:
    files = write_ct(tmp_path / "ct", slices=3, rows=4, cols=5)
    mask = np.zeros((3, 4, 5), dtype=bool)
    mask[1, 1:3, 2:4] = True
    ref = "sha256:" + "1" * 64
    result = export("dicom-seg", [case_c()], tmp_path / "out", image_resolver=lambda r: files,
                    artefact_loader={ref: mask}.__getitem__, created_at=CREATED)
    seg = hd.seg.segread(result.files[0])
    uids = [pydicom.dcmread(f).SOPInstanceUID for f in files]
    frames = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1])[..., 0]
    segment = seg.SegmentSequence[0]
    summary = {"SOPInstanceUID": seg.SOPInstanceUID, "PatientName": str(seg.PatientName),
               "StudyInstanceUID": seg.StudyInstanceUID, "segments": [
                   {"label": segment.SegmentLabel, "algorithm": segment.SegmentAlgorithmType,
                    "category": segment.SegmentedPropertyCategoryCodeSequence[0].CodeMeaning,
                    "type": segment.SegmentedPropertyTypeCodeSequence[0].CodeMeaning}],
               "voxels_by_source_instance": {uid: np.argwhere(f).tolist() for uid, f in zip(uids, frames,
                                                                                           strict=True)}}
    _golden("dicom-seg.json", summary)


def test_missing_highdicom_is_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from viewer.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "highdicom", None)
    with pytest.raises(MissingExtraError, match=r"radreview\[dicom\]"):
        export("dicom-seg", [case_c()], tmp_path)
