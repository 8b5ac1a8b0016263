"""De-identification: the DICOM PS3.15 Basic Application Level Confidentiality Profile as data.

* :data:`BASIC_PROFILE` — attribute keyword → action of PS3.15 Annex E Table E.1-1 (basic profile
  column, the most conservative choice where the table offers several): ``X`` remove, ``Z`` empty
  (or pseudonym for Patient Name/ID), ``D`` replace with a dummy value, ``U`` replace UID.
* :func:`scrub_dataset` applies it to a copy of a pydicom ``Dataset``; beyond the table it also removes
  every private element, overlays (60xx) and curves (50xx), every person name (PN) and every
  date/time (DA/DT/TM) anywhere in the tree (belt and braces for attributes the table misses).
  UIDs are kept by default — the *Retain UIDs Option* (PS3.15 E.3.9), which DICOM SR/SEG exports
  need to reference the source images; pass ``retain_uids=False`` to remap them.
* :data:`SAFE_META_TAGS` / :func:`safe_meta` — the allow-list for ``Image.meta``/``StudyRecord.meta``.
* :func:`find_phi` / :func:`assert_no_phi` — search output bytes for identifying strings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

BASIC_PROFILE: Mapping[str, str] = {
    # patient
    "PatientName": "Z", "PatientID": "Z", "PatientBirthDate": "Z", "PatientSex": "Z",
    "IssuerOfPatientID": "X", "PatientBirthTime": "X", "OtherPatientIDs": "X", "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X", "PatientBirthName": "X", "PatientMotherBirthName": "X", "PatientAge": "X",
    "PatientSize": "X", "PatientWeight": "X", "PatientAddress": "X", "PatientTelephoneNumbers": "X",
    "PatientTelecomInformation": "X", "MedicalRecordLocator": "X", "EthnicGroup": "X", "Occupation": "X",
    "MilitaryRank": "X", "BranchOfService": "X", "CountryOfResidence": "X", "RegionOfResidence": "X",
    "PatientReligiousPreference": "X", "PatientComments": "X", "AdditionalPatientHistory": "X",
    "MedicalAlerts": "X", "Allergies": "X", "SmokingStatus": "X", "PregnancyStatus": "X",
    "LastMenstrualDate": "X", "PatientState": "X", "PatientSexNeutered": "X", "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X", "PatientInsurancePlanCodeSequence": "X",
    "PatientPrimaryLanguageCodeSequence": "X", "ReferencedPatientSequence": "X",
    "ReferencedPatientPhotoSequence": "X", "PatientBirthDateInAlternativeCalendar": "X",
    "PatientDeathDateInAlternativeCalendar": "X", "PatientAlternativeCalendar": "X",
    # visit / admission
    "AdmissionID": "X", "IssuerOfAdmissionID": "X", "AdmittingDiagnosesDescription": "X",
    "AdmittingDiagnosesCodeSequence": "X", "AdmittingDate": "X", "AdmittingTime": "X",
    "ServiceEpisodeID": "X", "ServiceEpisodeDescription": "X", "CurrentPatientLocation": "X",
    "PatientInstitutionResidence": "X", "VisitComments": "X", "ReasonForTheRequestedProcedure": "X",
    "ReasonForStudy": "X", "RequestAttributesSequence": "X",
    # study / series identity, dates and free text
    "AccessionNumber": "Z", "StudyID": "Z", "StudyDate": "Z", "StudyTime": "Z", "SeriesDate": "X",
    "SeriesTime": "X", "AcquisitionDate": "X", "AcquisitionTime": "X", "AcquisitionDateTime": "X",
    "ContentDate": "Z", "ContentTime": "Z", "InstanceCreationDate": "X", "InstanceCreationTime": "X",
    "OverlayDate": "X", "OverlayTime": "X", "CurveDate": "X", "CurveTime": "X",
    "StudyDescription": "X", "SeriesDescription": "X", "ProtocolName": "X", "ImageComments": "X",
    "FrameComments": "X", "AcquisitionComments": "X", "DerivationDescription": "X",
    "StudyComments": "X", "InterpretationText": "X", "TextString": "X", "TextComments": "X",
    "ContrastBolusAgent": "D", "PerformedProcedureStepStartDate": "X", "PerformedProcedureStepStartTime": "X",
    "PerformedProcedureStepEndDate": "X", "PerformedProcedureStepEndTime": "X",
    "PerformedProcedureStepID": "X", "PerformedProcedureStepDescription": "X",
    "ScheduledProcedureStepDescription": "X", "ScheduledProcedureStepID": "X",
    "RequestedProcedureDescription": "X", "RequestedProcedureID": "X", "RequestedContrastAgent": "X",
    "PlacerOrderNumberImagingServiceRequest": "X", "FillerOrderNumberImagingServiceRequest": "X",
    "ReferencedStudySequence": "X", "ReferencedPerformedProcedureStepSequence": "X",
    "RequestingService": "X", "IssuerOfAccessionNumberSequence": "X",
    "OriginalAttributesSequence": "X", "ModifiedAttributesSequence": "X", "DigitalSignaturesSequence": "X",
    # people
    "ReferringPhysicianName": "Z", "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X",
    "ReferringPhysicianIdentificationSequence": "X", "ConsultingPhysicianName": "X",
    "ConsultingPhysicianIdentificationSequence": "X", "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X", "PerformingPhysicianName": "X",
    "PerformingPhysicianIdentificationSequence": "X", "NameOfPhysiciansReadingStudy": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X", "RequestingPhysician": "X",
    "RequestingPhysicianIdentificationSequence": "X", "OperatorsName": "X",
    "OperatorIdentificationSequence": "X", "ScheduledPerformingPhysicianName": "X",
    "VerifyingObserverName": "D", "VerifyingObserverSequence": "D", "PersonName": "X",
    "PersonAddress": "X", "PersonTelephoneNumbers": "X", "ContentCreatorName": "Z",
    "ContentCreatorIdentificationCodeSequence": "X", "AuthorObserverSequence": "X",
    "ParticipantSequence": "X", "HumanPerformerName": "X", "HumanPerformerOrganization": "X",
    # institution and device
    "InstitutionName": "X", "InstitutionAddress": "X", "InstitutionCodeSequence": "X",
    "InstitutionalDepartmentName": "X", "InstitutionalDepartmentTypeCodeSequence": "X",
    "StationName": "X", "DeviceSerialNumber": "X", "DeviceUID": "U", "DetectorID": "X", "GantryID": "X",
    "PlateID": "X", "CassetteID": "X", "GeneratorID": "X", "SourceSerialNumber": "X",
    "SoftwareVersions": "X", "ProcedureStepLabel": "X", "ScheduledStationName": "X",
    "PerformedStationName": "X", "PerformedLocation": "X", "ScheduledProcedureStepLocation": "X",
    "DateOfLastCalibration": "X", "TimeOfLastCalibration": "X",
    # UIDs (kept under the Retain UIDs Option, remapped otherwise)
    "StudyInstanceUID": "U", "SeriesInstanceUID": "U", "SOPInstanceUID": "U",
    "MediaStorageSOPInstanceUID": "U", "ReferencedSOPInstanceUID": "U", "FrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U", "ReferencedFrameOfReferenceUID": "U",
    "RelatedFrameOfReferenceUID": "U", "InstanceCreatorUID": "U", "IrradiationEventUID": "U",
    "ConcatenationUID": "U", "DimensionOrganizationUID": "U", "StorageMediaFileSetUID": "U",
    "TargetUID": "U", "UID": "U", "TemplateExtensionCreatorUID": "U",
    "TemplateExtensionOrganizationUID": "U", "FiducialUID": "U",
}
"""PS3.15 Table E.1-1 basic-profile actions by attribute keyword (most conservative option)."""

SAFE_META_TAGS: tuple[str, ...] = (
    "Modality", "Manufacturer", "ManufacturerModelName", "SOPClassUID", "StudyInstanceUID",
    "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID", "BodyPartExamined", "ViewPosition",
    "PatientOrientation", "ImageType", "KVP", "SliceThickness", "SpacingBetweenSlices", "ConvolutionKernel",
    "PhotometricInterpretation", "BitsStored", "PixelRepresentation", "TransferSyntaxUID", "Laterality",
    "ImageLaterality", "PresentationIntentType", "Rows", "Columns", "PixelSpacing", "ImagerPixelSpacing",
    "NumberOfFrames",
    # derived by viewer.io, not DICOM attributes
    "NumberOfSlices", "AcquisitionPlane", "Format",
)
"""Tags that may be copied into ``Image.meta``/``StudyRecord.meta`` and hence into exports: technique,
geometry and (Retain UIDs Option) UIDs. Free-text tags such as StudyDescription, SeriesDescription,
ProtocolName and ContrastBolusAgent are *not* here: PS3.15 removes or dummies them because sites
type names, dates and accession numbers into them."""

DEID_METHOD = "PS3.15 Basic Profile; Retain UIDs Option (radreview)"
_PHI_VRS = frozenset({"PN", "DA", "DT", "TM"})
_KEEP_EMPTY = frozenset({"StudyDate", "StudyTime", "ContentDate", "ContentTime"})


def safe_meta(meta: Mapping[str, Any]) -> dict[str, str]:
    """Only the :data:`SAFE_META_TAGS` entries of ``meta``, as strings."""
    return {k: str(meta[k]) for k in SAFE_META_TAGS if k in meta and meta[k] is not None}


def _remap_uid(uid: str, salt: str) -> str:
    digest = int(hashlib.sha256(f"{salt}|{uid}".encode()).hexdigest()[:30], 16)
    return f"2.25.{digest}"


def _scrub_element(ds: Any, elem: Any, pseudonym: str, retain_uids: bool, salt: str) -> None:
    keyword = elem.keyword
    action = BASIC_PROFILE.get(keyword)
    if keyword == "PatientID":
        elem.value = pseudonym
    elif keyword == "PatientName":  # a trailing caret marks a single-component person name
        elem.value = pseudonym if "^" in pseudonym else f"{pseudonym}^"

    elif action == "U":
        if not retain_uids and elem.value:
            elem.value = ([_remap_uid(str(v), salt) for v in elem.value] if elem.VM > 1
                          else _remap_uid(str(elem.value), salt))
    elif action == "X" or (action is None and elem.VR in _PHI_VRS and keyword not in _KEEP_EMPTY):
        del ds[elem.tag]
    elif action in ("Z", "D") or elem.VR in _PHI_VRS:
        if elem.VR == "SQ":
            del ds[elem.tag]
        else:
            elem.value = "ANONYMIZED" if action == "D" and elem.VR not in _PHI_VRS else ""


def _scrub_tree(ds: Any, pseudonym: str, retain_uids: bool, salt: str) -> None:
    ds.remove_private_tags()
    for elem in list(ds):
        group = elem.tag.group
        if 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF:  # curves, overlays
            del ds[elem.tag]
            continue
        if elem.VR == "SQ" and BASIC_PROFILE.get(elem.keyword) is None:
            for item in elem.value:
                _scrub_tree(item, pseudonym, retain_uids, salt)
            continue
        _scrub_element(ds, elem, pseudonym, retain_uids, salt)


def scrub_dataset(ds: Any, pseudonym: str, *, retain_uids: bool = True, salt: str = "") -> Any:
    """A de-identified copy of a pydicom ``Dataset`` (the input is not changed).

    Args:
        ds: The dataset (with or without pixel data).
        pseudonym: Written into PatientName and PatientID (the case id).
        retain_uids: Keep UIDs (PS3.15 Retain UIDs Option) so derived SR/SEG can reference them;
            ``False`` remaps each UID deterministically to a ``2.25.`` UID derived from ``salt``.
        salt: Secret mixed into remapped UIDs.

    Returns:
        The scrubbed copy with PatientIdentityRemoved ``YES`` and DeidentificationMethod set.
    """
    import copy

    out = copy.deepcopy(ds)
    _scrub_tree(out, pseudonym, retain_uids, salt)
    meta = getattr(out, "file_meta", None)
    if meta is not None and not retain_uids and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEID_METHOD
    return out


def phi_strings(ds: Any) -> set[str]:
    """Identifying values of a dataset: every string the basic profile would remove, empty or dummy.

    Useful as markers for :func:`assert_no_phi` on outputs derived from ``ds``.
    """
    found: set[str] = set()
    for elem in ds.iterall():
        if elem.VR == "SQ":
            continue
        action = BASIC_PROFILE.get(elem.keyword)
        identifying = action in ("X", "Z", "D") or elem.VR in _PHI_VRS or elem.tag.is_private
        if not identifying or elem.value is None:
            continue
        text = elem.value.decode(errors="ignore") if isinstance(elem.value, bytes) else str(elem.value)
        if len(text.strip()) >= 4:
            found.add(text.strip())
    return found


class PhiLeakError(AssertionError):
    """An identifying string was found in an output."""


def find_phi(data: bytes | str, markers: Iterable[str]) -> list[str]:
    """The markers that occur in ``data`` (byte-wise, UTF-8, case-sensitive)."""
    blob = data.encode() if isinstance(data, str) else data
    return [m for m in markers if m and m.encode() in blob]


def assert_no_phi(paths: Iterable[Path], markers: Iterable[str]) -> None:
    """Raise :class:`PhiLeakError` naming the file and marker when any marker occurs in any file.

    Files are read as raw bytes, so DICOM, JSON and binary outputs are all searched; markers are
    also searched in UTF-16 (DICOM text in some character sets) to catch wide encodings.
    """
    wanted = [m for m in markers if m]
    for path in paths:
        blob = Path(path).read_bytes()
        for marker in wanted:
            if marker.encode() in blob or marker.encode("utf-16-le") in blob:
                raise PhiLeakError(f"{path}: contains the identifying string {marker!r}")


# -- free text ----------------------------------------------------------------------------------------

FREE_TEXT_POLICIES: tuple[str, ...] = ("deid", "drop")
"""What an export does with free text (indication, prior report, comments): ``deid`` runs
:func:`scrub_text`; ``drop`` leaves the fields out entirely."""

_TITLES = r"(?:Dr|Mr|Mrs|Ms|Miss|Prof|Sr|Sra|Herr|Frau)\.?"
_TEXT_RULES: tuple[tuple[str, str], ...] = (
    # identifiers introduced by their label: MRN 12345, ID: A-778, accession #99812, NHS no. 943 476 5919
    (r"(?i)\b(?:MRN|MR#|medical record(?: number| no\.?)?|patient id|pid|accession(?: number| no\.?)?|acc|"
     r"NHS(?: number| no\.?)?|SSN|hospital number|case number)\b\s*[:#]?\s*[A-Z0-9][A-Z0-9\- ]{2,}[0-9]",
     "[ID]"),
    # e-mail addresses
    (r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b", "[EMAIL]"),
    # dates: 2024-03-01, 01/03/2024, 1.3.24, 3 March 2024, March 3, 2024
    (r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b", "[DATE]"),
    (r"(?i)\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
     r"(?:,?\s+\d{2,4})?\b", "[DATE]"),
    (r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
     r"(?:,?\s+\d{4})?\b", "[DATE]"),
    # phone numbers: +44 20 7946 0958, (555) 123-4567, 555-123-4567
    (r"(?<!\w)(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{3,4}[\s.-]\d{3,4}(?:[\s.-]\d{2,4})?(?!\w)",
     "[PHONE]"),
    # any remaining long digit run (MRN-like numbers without a label)
    (r"\b\d{5,}\b", "[ID]"),
    # names after a title: Dr. Jane Doe, Mr Smith
    (rf"\b{_TITLES}\s+[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)?", "[NAME]"),
    # two or three capitalised words in a row not at a sentence start: John Smith, Mary Ann Jones
    (r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){1,2}\b", "[NAME]"),
)
_COMPILED = tuple((re.compile(p), r) for p, r in _TEXT_RULES)
_CLINICAL_CAPITALISED = frozenset({
    "Chest", "Pain", "Cough", "Fever", "Shortness", "Breath", "History", "Follow", "Up", "Left", "Right",
    "Lower", "Upper", "Lobe", "Rule", "Out", "Pneumonia", "Covid", "COVID", "Trauma", "Status", "Post",
    "CT", "CXR", "PA", "AP", "Lateral", "Emergency", "Department", "Intensive", "Care", "Unit",
    "Heart", "Failure", "Lung", "Lungs", "Cancer", "Nodule", "Mass", "Screening", "Preop", "Postop", "Acute",
    "Chronic", "Known", "Suspected", "Query", "Assess", "Evaluate", "Evaluation", "Clear", "Normal", "Prior",
    "Indication", "Comparison", "Findings", "Impression", "Technique", "Stable", "Interval", "No",
})


def _is_name(match: str) -> bool:
    return not any(word in _CLINICAL_CAPITALISED for word in match.split())


def scrub_text(text: str) -> str:
    """Free text with identifying spans replaced by ``[ID]``, ``[DATE]``, ``[PHONE]``, ``[EMAIL]``,
    ``[NAME]``.

    Rules, in order: labelled identifiers (MRN, accession, patient id, NHS/SSN numbers), e-mail addresses,
    dates (ISO, numeric, with month names), phone numbers, any run of 5+ digits, a title followed by
    capitalised words (Dr. Jane Doe), and two or three capitalised words in a row that are not at a
    sentence start (a colon does not start one: "Indication: John Smith") and are not common clinical
    words (John Smith).

    Limits (see docs/exports.md): a single capitalised name at the start of a sentence or a lower-case
    name is not caught; ages, places and institution names are not removed; numbers of 4 digits or fewer
    stay (they are usually measurements). Use the ``drop`` free-text policy when that is not enough.
    """
    out = text
    for pattern, replacement in _COMPILED:
        if replacement == "[NAME]":
            out = pattern.sub(lambda m: "[NAME]" if _is_name(m.group(0)) else m.group(0), out)
        else:
            out = pattern.sub(replacement, out)
    return out


def free_text(text: str | None, policy: str) -> str | None:
    """Apply an export's free-text policy (:data:`FREE_TEXT_POLICIES`) to one field.

    Raises:
        ValueError: unknown policy.
    """
    if policy not in FREE_TEXT_POLICIES:
        raise ValueError(f"unknown free-text policy {policy!r}; "
                         f"expected one of {', '.join(FREE_TEXT_POLICIES)}")
    if text is None or policy == "drop" or not text.strip():
        return None
    return scrub_text(text.strip())
