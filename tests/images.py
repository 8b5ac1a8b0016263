"""Image and study builders for the tests: one place that knows how an in-memory :class:`Image` is made.

Every builder returns an identity-affine ``MONOCHROME2`` image with no VOI window unless told otherwise;
tests pass what they check (modality, view, spacing, source name, digest) and nothing else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from viewer.phantom import Phantom
from viewer.records import Image, Study

RADIOGRAPH_SPACING = (0.7, 0.7)


def make_image(
    pixels: np.ndarray,
    *,
    modality: str = "DX",
    spacing_mm: tuple[float, ...] | None = RADIOGRAPH_SPACING,
    source: str = "t",
    sha256: str = "f" * 64,
    view: str = "",
    affine: np.ndarray | None = None,
    **fields: Any,
) -> Image:
    """An in-memory image of ``pixels`` (as float32), identity ``affine`` unless given; ``fields`` are any
    other :class:`Image` fields (``meta``, ``default_window``, ``photometric``…)."""
    fields = {"photometric": "MONOCHROME2", "default_window": None, **fields}
    return Image(
        pixels.astype(np.float32), spacing_mm, np.eye(4) if affine is None else affine, modality,
        source=source, sha256=sha256, view=view, **fields,
    )


def random_pixels(seed: int, shape: tuple[int, int]) -> np.ndarray:
    """Uniform noise in 0–4000 (stored values of a radiograph), float32, from ``seed``."""
    return (np.random.default_rng(seed).random(shape) * 4000).astype(np.float32)


def phantom_ct(phantom: Phantom, step: int = 4, sha256: str = "0" * 64) -> Image:
    """The CT phantom subsampled by ``step`` along every axis, its spacing scaled to match."""
    return make_image(
        phantom.pixels[::step, ::step, ::step],
        modality="CT",
        spacing_mm=tuple(s * step for s in phantom.spacing_mm),
        source="ct",
        sha256=sha256,
    )


def phantom_ct_study(
    phantom: Phantom,
    regions: tuple[str, ...],
    *,
    case_id: str = "ct1",
    step: int = 4,
    sha256: str = "0" * 64,
    indication: str | None = None,
) -> tuple[Study, dict[str, np.ndarray]]:
    """A one-volume CT study of :func:`phantom_ct` and the phantom's masks of ``regions``, subsampled
    alike."""
    volume = phantom_ct(phantom, step, sha256)
    masks = {r: phantom.labels[r][::step, ::step, ::step] for r in regions}
    return Study(case_id, "ct", (volume,), indication=indication), masks
