"""Real chest radiographs from registry packages, and variants of them (shared by the CXR tests).

The only real chest radiograph in the registry packages we can use is pydicom-data's ``RG1``: a PA
chest CR from the DICOM compression test set (Philips, MONOCHROME1, 1955×1841, ``PixelSpacing``
``0\\0`` = unknown; the film shows multiple round pulmonary opacities in both lungs). It ships in
four encodings: ``UNCR``/``J2KR`` (the original pixels, uncompressed and lossless JPEG 2000) and
``UNCI``/``J2KI`` (the pixels after lossy JPEG 2000, uncompressed and compressed). ``RG3`` (a CR of
the lower leg with collimator shutters and a burned-in "R" marker) is the non-chest control.
pydicom's own ``chrJapMulti``/``chrKoreanMulti`` are labelled CR CHEST but hold no pixel data.
Variants of RG1 exercise what real films vary in: rotation, collimation, black padding, other
exposure curves, burned-in markers, MONOCHROME2 storage, an AP label, a known pixel spacing, a
mirrored display; a film turned by 90° and one labelled LATERAL must be refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

from viewer.records import Image

CHEST = ("RG1_UNCR.dcm", "RG1_UNCI.dcm", "RG1_J2KR.dcm", "RG1_J2KI.dcm")
NOT_CHEST = ("RG3_UNCR.dcm",)


def data_dir() -> Path | None:
    """pydicom-data's folder of files, or ``None`` when the package is not installed."""
    try:
        import data_store  # pydicom-data; glob its folder, never get_testdata_files("*") (downloads)
    except ImportError:
        return None
    return Path(data_store.__file__).parent / "data"


def load(name: str) -> Image:
    """Read one pydicom-data file through radreview's own reader."""
    from viewer.io import load_image

    folder = data_dir()
    assert folder is not None
    return load_image(folder / name)


def rotated(image: Image, degrees: float) -> Image:
    """The film rotated in-plane (patient rotated on the detector), corners filled with no-exposure."""
    px = np.asarray(image.pixels, dtype=np.float32)
    fill = float(px.max()) if image.photometric == "MONOCHROME1" else float(px.min())  # no film: black
    out = ndimage.rotate(px, degrees, reshape=False, order=1, mode="constant", cval=fill)
    return dataclasses.replace(image, pixels=out.astype(np.float32), source=f"{image.source} rotated")


def collimated(image: Image, fraction: float = 0.06) -> Image:
    """Collimator shutters: a flat unexposed band (dense: bright on display) on every edge."""
    px = np.asarray(image.pixels, dtype=np.float32).copy()
    dense = float(px.min()) if image.photometric == "MONOCHROME1" else float(px.max())
    r, c = (int(fraction * n) for n in px.shape)
    px[:r], px[-r:], px[:, :c], px[:, -c:] = dense, dense, dense, dense
    return dataclasses.replace(image, pixels=px, source=f"{image.source} collimated")


def marked(image: Image) -> Image:
    """A burned-in side marker and text block (white, beyond the exposure range) in the top corners."""
    px = np.asarray(image.pixels, dtype=np.float32).copy()
    dense = float(px.min()) * 0.5 if image.photometric == "MONOCHROME1" else float(px.max()) * 1.5
    rows, cols = px.shape
    h, w = rows // 20, cols // 30
    px[h : 3 * h, w : 2 * w] = dense  # an "R"-sized block
    for k in range(4):  # a text block of four lines
        px[h + 2 * k * h // 3 : h + (2 * k + 1) * h // 3, cols - 10 * w : cols - w] = dense
    return dataclasses.replace(image, pixels=px, source=f"{image.source} marked")


def monochrome2(image: Image) -> Image:
    """The same film stored as MONOCHROME2 (values inverted)."""
    px = np.asarray(image.pixels, dtype=np.float32)
    return dataclasses.replace(image, pixels=(px.max() + px.min() - px).astype(np.float32),
                               photometric="MONOCHROME2", source=f"{image.source} MONOCHROME2")


def with_spacing(image: Image, mm: float) -> Image:
    """The film with a pixel spacing (as if ImagerPixelSpacing were given)."""
    return dataclasses.replace(image, spacing_mm=(mm, mm), source=f"{image.source} spacing {mm}")


def ap(image: Image) -> Image:
    """The film labelled AP."""
    return dataclasses.replace(image, view="AP", source=f"{image.source} AP")


def padded(image: Image, fraction: float = 0.05) -> Image:
    """A constant black (no-exposure) border on every side, as left by a scanner or a letterbox export."""
    px = np.asarray(image.pixels, dtype=np.float32)
    black = float(px.max()) if image.photometric == "MONOCHROME1" else float(px.min())
    r, c = (int(fraction * n) for n in px.shape)
    out = np.pad(px, ((r, r), (c, c)), constant_values=black)
    return dataclasses.replace(image, pixels=out, source=f"{image.source} padded")


def regraded(image: Image, gamma: float) -> Image:
    """Another exposure curve: the stored range mapped through a power law (same range, new greys)."""
    px = np.asarray(image.pixels, dtype=np.float64)
    lo, hi = float(px.min()), float(px.max())
    out = lo + (hi - lo) * ((px - lo) / (hi - lo)) ** gamma
    return dataclasses.replace(image, pixels=out.astype(np.float32), source=f"{image.source} gamma {gamma}")


def mirrored(image: Image) -> Image:
    """The film flipped left-right, with PatientOrientation saying so (columns towards patient right)."""
    px = np.ascontiguousarray(np.asarray(image.pixels)[:, ::-1])
    meta = {**image.meta, "PatientOrientation": "R\\F"}
    return dataclasses.replace(image, pixels=px, meta=meta, source=f"{image.source} mirrored")


def sideways(image: Image) -> Image:
    """The film stored turned by 90° (a frontal film scanned sideways)."""
    px = np.ascontiguousarray(np.rot90(np.asarray(image.pixels)))
    return dataclasses.replace(image, pixels=px, source=f"{image.source} sideways")


VARIANTS: dict[str, Callable[[Image], Image]] = {
    "rotated +7°": lambda im: rotated(im, 7.0),
    "rotated −7°": lambda im: rotated(im, -7.0),
    "collimated": collimated,
    "black padding": padded,
    "exposure curve γ 0.6": lambda im: regraded(im, 0.6),
    "exposure curve γ 1.6": lambda im: regraded(im, 1.6),
    "burned-in markers": marked,
    "MONOCHROME2": monochrome2,
    "AP label": ap,
    "spacing 0.19 mm": lambda im: with_spacing(im, 0.19),
    "mirrored, PatientOrientation R\\F": mirrored,
    "turned 90°": sideways,
    "LATERAL label": lambda im: dataclasses.replace(im, view="LATERAL", source=f"{im.source} LATERAL"),
}
REFUSED = {"turned 90°", "LATERAL label"}  # variants the built-in must decline to measure
