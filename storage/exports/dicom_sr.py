"""``dicom-sr``: one Comprehensive 3D SR (TID 1500 Measurement Report) per signed case, via highdicom.

Each reviewer-final finding becomes a measurement group (TID 1501) whose tracking identifier names
its region and whose content holds the finding text (``TEXT`` item, concept DCM 121071 "Finding").
A finding with 2D boxes becomes one planar ROI group (TID 1410) per box: a closed ``POLYLINE``
rectangle in pixel coordinates of the referenced source image. The SR references the source
Study/Series/SOP Instance UIDs (PS3.15 Retain UIDs Option); the patient module is copied from the
de-identified sources, so it carries the pseudonymous case id only (Type 2 attributes the source lacks
are present and empty). The signer is the verifying observer (``VerificationFlag`` VERIFIED,
``CompletionFlag`` COMPLETE), the reviewed impression is a TEXT item (DCM 121073 "Impression") of the
root container, and the character set is UTF-8 (``ISO_IR 192``). Files: ``sr/<case_id>.dcm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydicom.sr.coding import Code

from storage.exports.common import ExportContext, FormatOutput, SkipCase, boxes_2d, kept_findings
from storage.exports.dicom_common import (
    derived_identity,
    derived_uid,
    require_highdicom,
    source_datasets,
    write_per_case,
)
from storage.records import ReviewedCase

IMPRESSION = Code("121073", "DCM", "Impression")
_PROCEDURE = {"ct": ("24627-2", "LN", "CT Chest"), "cxr": ("36643-5", "LN", "XR Chest")}


def _text_item(hd: Any, text: str) -> Any:
    from pydicom.sr.codedict import codes

    return hd.sr.TextContentItem(name=codes.DCM.Finding, value=text[:1024],
                                 relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)


def _tracking(hd: Any, case_id: str, fid: str, region: str, k: int) -> Any:
    return hd.sr.TrackingIdentifier(identifier=f"{region}: {fid}"[:64], uid=derived_uid(case_id, fid, str(k)))


def _with_text(hd: Any, group: Any, text: str) -> Any:
    item = group[0]
    if "ContentSequence" not in item:
        item.ContentSequence = hd.sr.ContentSequence([])
    item.ContentSequence.append(_text_item(hd, text))
    return group


def _rectangle(box: Sequence[float], ds: Any) -> Any:
    import numpy as np

    x0, y0, x1, y1 = (box[0] * ds.Columns, box[1] * ds.Rows, box[2] * ds.Columns, box[3] * ds.Rows)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], dtype=float)


def _groups(hd: Any, case: ReviewedCase, sources: list[Any]) -> list[Any]:
    groups = []
    frontal = sources[0]
    for finding in kept_findings(case):
        boxes = boxes_2d(finding) if case.study.kind == "cxr" and "Rows" in frontal else []
        if not boxes:
            tid = _tracking(hd, case.study.case_id, finding.id, finding.region, 0)
            groups.append(_with_text(hd, hd.sr.MeasurementsAndQualitativeEvaluations(tracking_identifier=tid),
                                     finding.text))
        for k, box in enumerate(boxes, start=1):
            region = hd.sr.ImageRegion(graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
                                       graphic_data=_rectangle(box, frontal),
                                       source_image=hd.sr.SourceImageForRegion.from_source_image(frontal))
            tid = _tracking(hd, case.study.case_id, finding.id, finding.region, k)
            group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(tracking_identifier=tid,
                                                                         referenced_region=region)
            groups.append(_with_text(hd, group, finding.text))
    return groups


def _oriented(ds: Any) -> bool:
    """True when a projection image states its PatientOrientation (the image library entry needs it)."""
    return bool(ds.get("PatientOrientation"))


def build_sr(case: ReviewedCase, ctx: ExportContext) -> Any:
    """The highdicom ``Comprehensive3DSR`` of a case.

    Raises:
        SkipCase: not signed, or no DICOM sources.
    """
    hd = require_highdicom("DICOM SR export")
    if not case.state.signed:
        raise SkipCase("not signed: a DICOM SR holds final reports only")
    sources = source_datasets(case, ctx)
    signer = f"{case.state.signed_by or 'reviewer'}^"
    observer = hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121006", "DCM", "Person"),
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=signer))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=observer),
        procedure_reported=Code(*_PROCEDURE.get(case.study.kind, _PROCEDURE["ct"])),
        imaging_measurements=_groups(hd, case, sources),
        referenced_images=sources[:1] if case.study.kind == "cxr" and _oriented(sources[0]) else None)
    impression = case.state.reviewed_impression()
    if impression:
        report[0].ContentSequence.append(hd.sr.TextContentItem(
            name=IMPRESSION, value=impression[:1024],
            relationship_type=hd.sr.RelationshipTypeValues.CONTAINS))
    return hd.sr.Comprehensive3DSR(
        evidence=sources, content=report, **derived_identity(case, ctx, "sr", "radreview report"),
        is_complete=True, is_final=True, is_verified=True,
        verifying_observer_name=signer, verifying_organization="radreview")


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``sr/<case_id>.dcm`` per case."""
    return write_per_case(cases, ctx, "sr", "DICOM SR export", build_sr)
