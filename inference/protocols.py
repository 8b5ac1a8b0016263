"""The two plug-in interfaces of ``inference``: segmenters and report generators (DESIGN §3).

A segmenter turns one image into region masks; a generator turns a study plus those masks into a
:class:`~inference.records.Draft`. Both are registered by name in :mod:`inference.registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from inference.records import Draft
from viewer.records import Image, Study

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class RegionMask:
    """One region's mask on one image.

    Attributes:
        region: A DESIGN §4 region name (``lungs``, ``trachea and bronchi``…).
        mask: Boolean array with exactly the image's ``pixels`` shape.
        approximate: True when the mask comes from geometry/heuristics rather than a validated
            model or a user's label map; the UI and reports say so.
        method: One line on how it was made (thresholds, rules), shown to reviewers.
        parts: Optional named sub-masks (e.g. ``{"right": ..., "left": ...}`` for lungs).
    """

    region: str
    mask: BoolArray
    approximate: bool = True
    method: str = ""
    parts: Mapping[str, BoolArray] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """What a segmenter returns for one image.

    Attributes:
        segmenter: The registered segmenter name.
        masks: Region name → :class:`RegionMask`; regions the segmenter cannot find are absent.
        method: A short description of the whole method.
        shape: The image shape every mask has.
    """

    segmenter: str
    masks: Mapping[str, RegionMask]
    method: str = ""
    shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name, m in self.masks.items():
            if self.shape and m.mask.shape != self.shape:
                raise ValueError(f"mask {name!r} has shape {m.mask.shape}, image has {self.shape}")


@dataclass(frozen=True)
class ProgressEvent:
    """One progress notification from a generator.

    Attributes:
        kind: ``stage`` (a human-readable stage message such as ``"segmenting"``) or ``text``
            (a chunk of streamed model output, to append to what was shown).
        text: The message or the text chunk.
        region: The region being generated, when the generator works region by region.
    """

    kind: Literal["stage", "text"]
    text: str
    region: str | None = None


Progress = Callable[[ProgressEvent], None]


def emit_stage(progress: Progress | None, message: str, region: str | None = None) -> None:
    """Send a stage message to ``progress`` when one was given."""
    if progress is not None:
        progress(ProgressEvent("stage", message, region))


def emit_text(progress: Progress | None, chunk: str, region: str | None = None) -> None:
    """Send a streamed text chunk to ``progress`` when one was given."""
    if progress is not None:
        progress(ProgressEvent("text", chunk, region))


@runtime_checkable
class Segmenter(Protocol):
    """Turns one image into region masks."""

    @property
    def name(self) -> str:
        """The registered name (recorded in the draft's provenance)."""
        ...

    def segment(self, image: Image) -> SegmentationResult:
        """Segment ``image``; every mask has ``image.pixels.shape``."""
        ...


@runtime_checkable
class ReportGenerator(Protocol):
    """Turns a study (plus region masks of its primary image) into a draft report."""

    name: str

    def generate(self, study: Study, masks: Mapping[str, RegionMask], *,
                 progress: Progress | None = None) -> Draft:
        """Write a draft for ``study``; ``masks`` may be empty when no segmenter ran."""
        ...
