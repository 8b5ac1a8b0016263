"""NIfTI-1/2 volumes (``.nii``, ``.nii.gz``) via nibabel → canonical SPL :class:`Image`.

nibabel applies ``scl_slope``/``scl_inter``; the RAS affine is converted to LPS and the array is
reoriented (flip/transpose, no resampling) with ``nibabel.orientations``. NIfTI stores no modality:
a volume whose minimum is at or below −500 (air in HU) is labelled ``CT`` and anything else ``OT``,
with a warning saying so. 4D data is refused unless the fourth axis has length 1.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from typing import Any

import numpy as np

from viewer.errors import StudyLoadError
from viewer.io.dicom_common import MAX_PIXEL_BYTES
from viewer.io.dicom_geometry import acquisition_plane
from viewer.io.orient import axis_spacing, ras_to_lps, to_spl
from viewer.io.source import Source
from viewer.records import Image

_CORRUPT = (zlib.error, gzip.BadGzipFile, EOFError, OSError, ValueError)


def _parse(source: Source, data: bytes) -> Any:
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    raw = data
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                raw = gz.read(MAX_PIXEL_BYTES + 1)
        except _CORRUPT as exc:
            raise StudyLoadError(source.name, f"corrupt gzip stream in NIfTI file ({exc})") from exc
        if len(raw) > MAX_PIXEL_BYTES:
            raise StudyLoadError(source.name, "NIfTI inflates past the 2 GiB cap; refusing")
    klass = nib.Nifti2Image if raw[4:8] in (b"n+2\x00", b"ni2\x00") else nib.Nifti1Image
    try:
        return klass.from_bytes(raw)
    except (ImageFileError, *_CORRUPT, nib.spatialimages.HeaderDataError) as exc:
        raise StudyLoadError(source.name, f"corrupt NIfTI header ({exc})") from exc


def _data(source: Source, img: Any) -> np.ndarray:
    shape = tuple(int(s) for s in img.shape)
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) > 3:
        raise StudyLoadError(
            source.name,
            f"{len(shape)}D NIfTI {shape} (e.g. a time series) is not supported; "
            "extract one 3D volume (fslroi / nibabel slicing)",
        )
    if len(shape) < 2:
        raise StudyLoadError(source.name, f"NIfTI of shape {shape} is not an image")
    try:
        arr = np.asarray(img.dataobj, dtype=np.float32).reshape(shape)
    except (*_CORRUPT, MemoryError) as exc:
        raise StudyLoadError(source.name, f"truncated or corrupt NIfTI data ({exc})") from exc
    return arr[..., None] if arr.ndim == 2 else arr


def _window(img: Any) -> tuple[float, float] | None:
    lo, hi = float(img.header.get("cal_min", 0)), float(img.header.get("cal_max", 0))
    if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
        return (lo + hi) / 2.0, hi - lo
    return None


def read_nifti(source: Source) -> Image:
    """Read a NIfTI volume as an SPL :class:`Image`.

    Raises:
        StudyLoadError: Corrupt or truncated file, 4D data, or data over the size cap.
    """
    data = source.read_bytes()
    img = _parse(source, data)
    arr = _data(source, img)
    if not np.all(np.isfinite(arr)):
        arr = np.nan_to_num(arr, nan=float(np.nanmin(arr)) if np.isfinite(arr).any() else 0.0)
    lps = ras_to_lps(np.asarray(img.affine, dtype=np.float64))
    if not np.all(np.isfinite(lps)) or abs(float(np.linalg.det(lps[:3, :3]))) < 1e-12:
        raise StudyLoadError(source.name, "NIfTI affine (sform/qform and pixdim) is singular or not finite; "
                             "fix the header's voxel sizes and orientation")
    plane = acquisition_plane(lps[:, [2, 0, 1, 3]])  # NIfTI stores slices along its third voxel axis
    pixels, affine = to_spl(arr, lps)
    is_ct = float(pixels.min()) <= -500.0
    warnings = [
        f"NIfTI has no modality field; labelled {'CT (minimum ≤ −500, read as HU)' if is_ct else 'OT'}"
    ]
    if int(img.header.get("qform_code", 0)) == 0 and int(img.header.get("sform_code", 0)) == 0:
        warnings.append("NIfTI has neither qform nor sform: orientation unknown, assumed RAS")
    return Image(
        pixels=pixels,
        spacing_mm=axis_spacing(affine),
        affine=affine,
        modality="CT" if is_ct else "OT",
        photometric="MONOCHROME2",
        default_window=_window(img),
        source=source.name,
        sha256=hashlib.sha256(data).hexdigest(),
        meta={"Format": "NIfTI", "AcquisitionPlane": plane},
        view="AXIAL" if plane == "AXIAL" else "",
        warnings=tuple(warnings),
    )
