"""Synthetic DICOM files whose identifying attributes hold unique marker strings (PHI leak tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MARKERS: dict[str, str] = {
    "PatientName": "Zzmarkname^Qqpatient",
    "PatientID": "MRNMARK7731",
    "PatientBirthDate": "19230417",
    "AccessionNumber": "ACCMARK5521",
    "InstitutionName": "Mercy Marker Hospital",
    "ReferringPhysicianName": "Drmarker^Referrer",
    "StudyDate": "20190311",
    "StudyDescription": "CHEST for Zzmarkdesc",
    "ImageComments": "called Qqmarkcomment at home",
    "OperatorsName": "Techmarker^Op",
}
PRIVATE_MARKER = "PRIVMARK-Secret-99"


def _base(sop_class: str, uid_root: str, k: int, rows: int, cols: int) -> object:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = f"{uid_root}.3.{k}"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, f"{uid_root}.3.{k}"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{uid_root}.1", f"{uid_root}.2"
    ds.FrameOfReferenceUID = f"{uid_root}.4"
    for keyword, value in MARKERS.items():
        setattr(ds, keyword, value)
    ds.StudyTime, ds.SeriesNumber, ds.InstanceNumber, ds.StudyID = "101010", 1, k + 1, "SIDM1"
    ds.PatientSex = "F"
    ds.add_new(0x00091010, "LO", "RADREVIEW TEST")
    ds.add_new(0x00091011, "LO", PRIVATE_MARKER)
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    pixels = (np.arange(rows * cols, dtype=np.uint16).reshape(rows, cols) + k) % 4096
    ds.PixelData = pixels.tobytes()
    return ds


def write_cxr(path: Path, rows: int = 8, cols: int = 6) -> Path:
    """A DX chest radiograph with the markers; returns the path."""
    ds = _base("1.2.840.10008.5.1.4.1.1.1.1", "1.2.826.0.1.3680043.10.99.1", 0, rows, cols)
    ds.Modality, ds.PatientOrientation, ds.ImagerPixelSpacing = "DX", ["L", "F"], [0.5, 0.5]
    ds.PixelSpacing = [0.5, 0.5]
    ds.ViewPosition, ds.ImageLaterality = "PA", "U"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_ct(folder: Path, slices: int = 3, rows: int = 4, cols: int = 5) -> list[Path]:
    """An axial CT series (feet-first order on disk, z decreasing) with the markers."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(slices):
        ds = _base("1.2.840.10008.5.1.4.1.1.2", "1.2.826.0.1.3680043.10.99.2", k, rows, cols)
        ds.Modality, ds.PixelSpacing, ds.SliceThickness = "CT", [0.8, 0.7], 2.0
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-10.0, -20.0, 100.0 - 2.0 * k]
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        path = folder / f"slice{k:02d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
