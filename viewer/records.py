"""The image and study records passed between packages (DESIGN §2).

Conventions (stated once, relied on everywhere):

* 2D images: ``pixels[row, col]``; row 0 is the top of the image as acquired.
* 3D volumes are canonical **SPL**: ``pixels[k, i, j]`` where ``k`` increases toward the patient's
  Superior, ``i`` toward Posterior and ``j`` toward the patient's Left. An axial slice ``pixels[k]``
  shown as-is is therefore in radiological convention (anterior up, patient right on screen left).
  Readers reorient (flip/transpose only, never resample) to reach this layout.
* ``affine`` maps array indices ``(axis0, axis1, axis2, 1)`` to patient **LPS** millimetres
  (DICOM patient coordinates). For 2D images axis2 is a dummy 0; for images without a known
  geometry the affine is the spacing-scaled identity.
* ``pixels`` are float32 in modality units: Hounsfield units for CT after the modality LUT;
  stored values after the modality LUT for projection radiographs. MONOCHROME1 images keep their
  modality values; display inversion happens once, in ``viewer.windowing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

StudyKind = Literal["cxr", "ct"]
FloatArray = npt.NDArray[np.float32]


def _frozen_meta(meta: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(meta))


@dataclass(frozen=True, eq=False)
class Image:
    """One image or volume in modality units.

    Attributes:
        pixels: float32, 2D ``[row, col]`` or 3D ``[k, i, j]`` (SPL, see module docstring).
        spacing_mm: Spacing per array axis in mm, same order as ``pixels.shape``; ``None`` when the
            file does not say (e.g. PNG, or DICOM PixelSpacing of ``0\\0``).
        affine: 4×4 float64, array indices → LPS mm.
        modality: DICOM modality (``CR``, ``DX``, ``CT``, ``MR``, ``OT``…).
        photometric: ``MONOCHROME1`` or ``MONOCHROME2``.
        default_window: ``(center, width)`` from the file's VOI LUT, or ``None``.
        voi_function: VOILUTFunction of the default window: ``LINEAR``, ``LINEAR_EXACT`` or ``SIGMOID``.
        source: Path or upload name the image was read from.
        sha256: Hex digest of the input bytes (all files of a series, in sorted order).
        meta: Non-PHI tags only (e.g. ``SeriesInstanceUID`` is kept for DICOM SR/SEG export; names,
            IDs and dates never are).
        view: ``PA``, ``AP``, ``LATERAL``, ``AXIAL`` or empty when unknown.
        warnings: Non-fatal problems found while reading (gantry tilt, non-uniform spacing…).
        voi_lut: Optional VOI LUT table (input value → output) kept from a VOI LUT Sequence.
    """

    pixels: FloatArray
    spacing_mm: tuple[float, ...] | None
    affine: npt.NDArray[np.float64]
    modality: str
    photometric: str
    default_window: tuple[float, float] | None
    source: str
    sha256: str
    meta: Mapping[str, str] = field(default_factory=dict)
    voi_function: str = "LINEAR"
    view: str = ""
    warnings: tuple[str, ...] = ()
    voi_lut: tuple[int, int, tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        if self.pixels.ndim not in (2, 3):
            raise ValueError(f"Image.pixels must be 2D or 3D, got shape {self.pixels.shape}")
        if self.spacing_mm is not None and len(self.spacing_mm) != self.pixels.ndim:
            raise ValueError(
                f"spacing_mm has {len(self.spacing_mm)} values for a {self.pixels.ndim}D image"
            )
        if self.affine.shape != (4, 4):
            raise ValueError(f"affine must be 4x4, got {self.affine.shape}")
        object.__setattr__(self, "meta", _frozen_meta(self.meta))

    @property
    def is_volume(self) -> bool:
        """True for a 3D volume."""
        return self.pixels.ndim == 3

    @property
    def shape(self) -> tuple[int, ...]:
        """The pixel array shape."""
        return tuple(int(s) for s in self.pixels.shape)


@dataclass(frozen=True, eq=False)
class Study:
    """What the reviewer reads: one or more images plus the clinical context.

    Attributes:
        case_id: Pseudonymous identifier (never a patient ID).
        kind: ``cxr`` or ``ct``.
        images: CXR: frontal first, then an optional lateral. CT: one volume.
        prior: An earlier study of the same patient, if given.
        prior_report: Text of the prior report, if given.
        indication: Clinical indication, if given.
    """

    case_id: str
    kind: StudyKind
    images: tuple[Image, ...]
    prior: Study | None = None
    prior_report: str | None = None
    indication: str | None = None

    def __post_init__(self) -> None:
        if not self.images:
            raise ValueError(f"study {self.case_id!r} has no images")

    @property
    def primary(self) -> Image:
        """The frontal radiograph or the CT volume."""
        return self.images[0]

    @property
    def lateral(self) -> Image | None:
        """The lateral radiograph, when one was given."""
        for image in self.images[1:]:
            if image.view == "LATERAL":
                return image
        return None

    @property
    def input_sha256s(self) -> tuple[str, ...]:
        """Hashes of every input image, the prior's included (for provenance)."""
        own = tuple(image.sha256 for image in self.images)
        return own + (self.prior.input_sha256s if self.prior else ())
