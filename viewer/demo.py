"""Deterministic demo studies written from the synthetic phantoms as real files.

``make_demo_studies(out_dir)`` writes, byte-for-byte reproducibly:

* ``cxr_dx.dcm`` — frontal chest radiograph, DICOM DX (MONOCHROME2), PixelSpacing + ImagerPixelSpacing,
  a two-valued VOI window;
* ``cxr_cr.dcm`` — the same as CR, MONOCHROME1 (stored values inverted), ImagerPixelSpacing only;
* ``cxr.png`` — the same as an 8-bit PNG (spacing unknown);
* ``ct_dicom/`` — the chest CT phantom as a 64-slice DICOM CT series (uint16 + RescaleIntercept −1024,
  shuffled file names, InstanceNumber counting from the top);
* ``ct.nii.gz`` — the same volume as NIfTI (RAS array order, int16 HU, cal_min/max = the soft-tissue window).

Patient-identifying attributes hold obviously fake values (``DEMO^PHANTOM``). A version file makes the
call idempotent: nothing is rewritten when the files for :data:`DEMO_VERSION` are already there.
"""

from __future__ import annotations

import gzip
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

DEMO_VERSION = "1"
"""Bump when the content of any demo file changes."""

_MARKER = ".radreview-demo.json"
_CT_SOP = "1.2.840.10008.5.1.4.1.1.2"
_CR_SOP = "1.2.840.10008.5.1.4.1.1.1"
_DX_SOP = "1.2.840.10008.5.1.4.1.1.1.1"
_FILES = {
    "cxr-dx": "cxr_dx.dcm",
    "cxr-cr": "cxr_cr.dcm",
    "cxr-png": "cxr.png",
    "ct-dicom": "ct_dicom",
    "ct-nifti": "ct.nii.gz",
}


def _uid(*parts: object) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=["radreview-demo", DEMO_VERSION, *map(str, parts)]))


def _dataset(sop_class: str, sop_uid: str, modality: str, study: str) -> Any:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta: Any = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
    ds: Any = Dataset()
    ds.file_meta, ds.preamble = meta, b"\0" * 128
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = sop_class, sop_uid, modality
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = (
        "DEMO^PHANTOM",
        "DEMO-0000",
        "19000101",
        "O",
    )
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20000101"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "000000"
    ds.AccessionNumber, ds.StudyID = "DEMO0000", "DEMO"
    ds.ReferringPhysicianName, ds.InstitutionName = "DEMO^REFERRER", "radreview synthetic phantom"
    ds.StudyInstanceUID, ds.Manufacturer = _uid(study), "radreview phantom"
    ds.StudyDescription, ds.BodyPartExamined = f"DEMO {study.upper()}", "CHEST"
    return ds


def _pixels(ds: Any, arr: npt.NDArray[np.uint16], bits_stored: int, photometric: str) -> None:
    ds.Rows, ds.Columns = (int(n) for n in arr.shape)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits_stored, bits_stored - 1, 0
    ds.PixelData = np.ascontiguousarray(arr, dtype="<u2").tobytes()


def _cxr_dicom(path: Path, stored: npt.NDArray[np.float32], *, cr: bool, spacing: float) -> None:
    modality = "CR" if cr else "DX"
    ds = _dataset(_CR_SOP if cr else _DX_SOP, _uid(modality, "image"), modality, "cxr")
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = _uid(modality, "series"), 1, 1
    ds.ViewPosition, ds.PatientOrientation, ds.KVP = "PA", ["L", "F"], "120"
    ds.ImagerPixelSpacing = [spacing, spacing]
    values = np.round(stored).astype(np.uint16)
    if cr:
        values = (4095 - values).astype(np.uint16)
        ds.WindowCenter, ds.WindowWidth = 4095 - 1500, 3000
    else:
        ds.ImagerPixelSpacing = [
            round(spacing * 1.1, 4)
        ] * 2  # detector plane, before magnification correction
        ds.PixelSpacing = [spacing, spacing]
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.WindowCenter, ds.WindowWidth = [1500, 1200], [3000, 1600]
        ds.WindowCenterWidthExplanation = ["NORMAL", "LUNG"]
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    _pixels(ds, values, 12, "MONOCHROME1" if cr else "MONOCHROME2")
    ds.save_as(path, enforce_file_format=True)


def _stored(hu: npt.NDArray[np.float32]) -> npt.NDArray[np.uint16]:
    """HU → 12-bit stored values for RescaleIntercept −1024 (HU −1024…3071)."""
    return np.clip(np.round(hu + 1024.0), 0, 4095).astype(np.uint16)


def write_ct_series(
    folder: Path,
    hu: npt.NDArray[np.float32],
    spacing: tuple[float, float, float],
    *,
    seed: int = 7,
    series_uid: str | None = None,
) -> list[Path]:
    """Write an SPL HU volume as an axial DICOM CT series with shuffled file names.

    Args:
        folder: Created if missing.
        hu: ``[k, i, j]`` volume, k → superior, i → posterior, j → patient left.
        spacing: ``(slice, row, col)`` mm.
        seed: Seed of the file-name shuffle.
        series_uid: SeriesInstanceUID (default derived from the shape).

    Returns:
        The written files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    nz, ny, nx = hu.shape
    sz, sy, sx = spacing
    names = np.random.default_rng(seed).permutation(nz)
    series = series_uid or _uid("ct", "series", hu.shape)
    stored = _stored(hu)
    paths = []
    for k in range(nz):
        ds = _dataset(_CT_SOP, _uid("ct", series, k), "CT", "ct")
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = series, 2, nz - k
        ds.FrameOfReferenceUID = _uid("ct", "frame", series)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-(nx - 1) / 2 * sx, -(ny - 1) / 2 * sy, (k - (nz - 1) / 2) * sz]
        ds.PixelSpacing, ds.SliceThickness = [sy, sx], sz
        ds.KVP, ds.ConvolutionKernel, ds.PatientPosition = "120", "STANDARD", "FFS"
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = [40, -600], [400, 1500]
        _pixels(ds, stored[k], 12, "MONOCHROME2")
        path = folder / f"IM{int(names[k]):04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _nifti(path: Path, hu: npt.NDArray[np.float32], spacing: tuple[float, float, float]) -> None:
    nib: Any = importlib.import_module("nibabel")
    nz, ny, nx = hu.shape
    sz, sy, sx = spacing
    hu_int = (_stored(hu).astype(np.int32) - 1024).astype(np.int16)  # the same HU as the DICOM series
    ras = np.ascontiguousarray(hu_int.transpose(2, 1, 0)[::-1, ::-1, :])
    affine = np.diag([sx, sy, sz, 1.0])
    affine[:3, 3] = [-(nx - 1) / 2 * sx, -(ny - 1) / 2 * sy, -(nz - 1) / 2 * sz]
    img = nib.Nifti1Image(ras, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["cal_min"], img.header["cal_max"] = -160.0, 240.0
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    path.write_bytes(gzip.compress(img.to_bytes(), mtime=0))


def _png(path: Path, stored: npt.NDArray[np.float32]) -> None:
    from PIL import Image as PILImage

    grey = np.clip(np.round(stored / 4095.0 * 255.0), 0, 255).astype(np.uint8)
    PILImage.fromarray(grey, mode="L").save(path, format="PNG", optimize=False)


def _up_to_date(out: Path) -> bool:
    marker = out / _MARKER
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return recorded.get("version") == DEMO_VERSION and all((out / f).exists() for f in _FILES.values())


def make_demo_studies(out_dir: str | Path) -> dict[str, Path]:
    """Write the demo studies (skipped when already written for this :data:`DEMO_VERSION`).

    Args:
        out_dir: Folder to write into (created if missing).

    Returns:
        Loadable path by name: ``cxr-dx``, ``cxr-cr``, ``cxr-png``, ``ct-dicom`` (a folder), ``ct-nifti``.
    """
    from viewer.phantom import ct_phantom, cxr_phantom

    out = Path(out_dir)
    paths = {name: out / rel for name, rel in _FILES.items()}
    if _up_to_date(out):
        return paths
    out.mkdir(parents=True, exist_ok=True)
    cxr = cxr_phantom()
    spacing = float(cxr.spacing_mm[0])
    _cxr_dicom(paths["cxr-dx"], cxr.pixels, cr=False, spacing=spacing)
    _cxr_dicom(paths["cxr-cr"], cxr.pixels, cr=True, spacing=spacing)
    _png(paths["cxr-png"], cxr.pixels)
    ct = ct_phantom()
    ct_spacing = (float(ct.spacing_mm[0]), float(ct.spacing_mm[1]), float(ct.spacing_mm[2]))
    for old in paths["ct-dicom"].glob("*.dcm"):
        old.unlink()
    write_ct_series(paths["ct-dicom"], ct.pixels, ct_spacing)
    _nifti(paths["ct-nifti"], ct.pixels, ct_spacing)
    (out / _MARKER).write_text(json.dumps({"version": DEMO_VERSION, "studies": _FILES}, indent=1))
    return paths
