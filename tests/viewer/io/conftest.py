"""Builders of small hand-made DICOM/NIfTI/zip inputs, and the demo studies, for the reader tests."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

CT_SOP = "1.2.840.10008.5.1.4.1.1.2"


def dataset(
    pixels: np.ndarray | None, modality: str = "DX", photometric: str = "MONOCHROME2", **attrs: Any
) -> Any:
    """A minimal Part-10 dataset (explicit VR little endian) with ``pixels`` as 16-bit stored values."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = attrs.pop("SOPClassUID", "1.2.840.10008.5.1.4.1.1.1.1")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = modality, "SECRET^NAME", "SECRET-ID"
    ds.StudyDate, ds.StudyInstanceUID = "20240101", "1.2.3.4"
    ds.SeriesInstanceUID = attrs.pop("SeriesInstanceUID", "1.2.3.4.5")
    if pixels is not None:
        arr = np.asarray(pixels)
        signed = arr.dtype.kind == "i"
        ds.Rows, ds.Columns = arr.shape[:2]
        ds.SamplesPerPixel = 3 if arr.ndim == 3 else 1
        ds.PhotometricInterpretation = photometric
        bits = 8 if arr.dtype.itemsize == 1 else 16
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
        ds.PixelRepresentation = int(signed)
        if arr.ndim == 3:
            ds.PlanarConfiguration = 0
        ds.PixelData = np.ascontiguousarray(arr).tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def save(ds: Any, path: Path) -> Path:
    """Write ``ds`` as a Part-10 file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def ct_slice(
    value: np.ndarray,
    position: tuple[float, float, float],
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    spacing: tuple[float, float] = (0.5, 0.5),
    series: str = "1.2.3.4.5",
    instance: int = 1,
) -> Any:
    """One CT slice: stored uint16 values with intercept −1024."""
    return dataset(
        np.asarray(value, dtype=np.uint16),
        modality="CT",
        SOPClassUID=CT_SOP,
        SeriesInstanceUID=series,
        ImagePositionPatient=list(position),
        ImageOrientationPatient=list(orientation),
        PixelSpacing=list(spacing),
        RescaleSlope=1,
        RescaleIntercept=-1024,
        InstanceNumber=instance,
        SliceThickness=2.0,
    )


def write_series(folder: Path, slices: list[Any], seed: int = 0) -> list[Path]:
    """Write slices under shuffled, meaningless file names."""
    order = np.random.default_rng(seed).permutation(len(slices))
    return [save(ds, folder / f"x{int(order[i]):03d}.dcm") for i, ds in enumerate(slices)]


@pytest.fixture
def dcm() -> SimpleNamespace:
    """The DICOM builders above."""
    return SimpleNamespace(dataset=dataset, save=save, ct_slice=ct_slice, write_series=write_series)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo studies, written once per session."""
    from viewer.demo import make_demo_studies

    return make_demo_studies(tmp_path_factory.mktemp("demo"))
