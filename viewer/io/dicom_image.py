"""Single DICOM images: projection radiographs (CR/DX/DR/MG/RF…) and secondary captures.

Order of operations (PS3.3 C.11): stored values → modality LUT (Rescale Slope/Intercept or Modality LUT
Sequence) → pixels of the :class:`Image`. The VOI LUT (window or table) is *kept*, not applied, as the
image's default window; MONOCHROME1 images keep their modality values and record the photometric
interpretation so that display inversion happens once, in ``viewer.windowing``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from viewer.errors import StudyLoadError
from viewer.io import dicom_common as dc
from viewer.io.source import Source
from viewer.records import Image

_VIEWS = {"PA": "PA", "AP": "AP", "LL": "LATERAL", "RL": "LATERAL", "LATERAL": "LATERAL", "LAT": "LATERAL"}


def view_of(ds: Any) -> str:
    """``PA``, ``AP`` or ``LATERAL`` from ViewPosition; empty when unknown."""
    return _VIEWS.get(str(dc.get(ds, "ViewPosition", "")).strip().upper(), "")


def _frames(ds: Any, name: str) -> None:
    frames = int(dc.first_float(dc.get(ds, "NumberOfFrames", 1)) or 1)
    if frames > 1:
        raise StudyLoadError(
            name,
            f"multi-frame DICOM ({frames} frames, modality {dc.get(ds, 'Modality', '?')}) "
            "is not supported; export the frames as single-frame images or a series",
        )


def read_image(source: Source, data: bytes | None = None, has_pixels: bool | None = None) -> Image:
    """Read one single-frame DICOM image as a 2D :class:`Image` in modality units.

    Args:
        source: The file.
        data: Its bytes, when already read (they are hashed for ``Image.sha256``).
        has_pixels: Whether a pixel data element is present, when a header parse already found out.

    Raises:
        StudyLoadError: No pixel data, multi-frame, oversized header, truncated or corrupt pixel data.
        MissingExtraError: The transfer syntax needs the ``codecs`` extra.
    """
    data = data if data is not None else source.read_bytes()
    if has_pixels is None:
        from viewer.io.dicom_series import read_slice

        has_pixels = read_slice(source, data).has_pixels
    ds = dc.read_dataset(source, header_only=False, data=data)  # pixel bytes stay undecoded here
    if has_pixels:
        dc.check_pixels_parsed(ds, source.name)
    dc.check_pixel_header(ds, source.name, has_pixels)  # before any pixel buffer is allocated
    _frames(ds, source.name)
    photometric = str(dc.get(ds, "PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    arr, photometric, warnings = dc.to_grey(dc.decode(ds, source.name), photometric, source.name, ds)
    pixels = dc.modality_lut(arr, ds) if not warnings else arr.astype(np.float32)
    spacing, spacing_tag = dc.pixel_spacing(ds)
    if spacing is None:
        warnings.append(
            "pixel spacing unknown (no PixelSpacing/ImagerPixelSpacing, or 0\\0): no mm measurements"
        )
    elif spacing_tag == "ImagerPixelSpacing" and dc.get(ds, "Modality") in {"DX", "CR", "MG"}:
        warnings.append("spacing from ImagerPixelSpacing (detector plane, not corrected for magnification)")
    affine = np.diag([*(spacing or (1.0, 1.0)), 1.0, 1.0]).astype(np.float64)
    return Image(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        spacing_mm=spacing,
        affine=affine,
        modality=str(dc.get(ds, "Modality", "OT")).upper(),
        photometric=photometric,
        default_window=dc.default_window(ds),
        source=source.name,
        sha256=hashlib.sha256(data).hexdigest(),
        meta=dc.safe_meta(ds),
        voi_function=dc.voi_function(ds),
        view=view_of(ds),
        warnings=tuple(warnings),
        voi_lut=dc.voi_lut(ds),
    )
