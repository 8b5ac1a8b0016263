"""The built-in generator's finding writer: findings per region, grounded to the masks they measured.

Shared by the CT sentences (:mod:`inference.generators.builtin`) and the CXR sentences
(:mod:`inference.generators._builtin_cxr`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.artefacts import content_ref, normalised_box
from inference.protocols import RegionMask
from inference.records import Finding, Grounding, Phrase, Section, regions_for

BoolArray = npt.NDArray[np.bool_]

CTR_ENLARGED = 0.5
CTR_BORDERLINE = 0.03  # CXR: within ±0.03 of 0.5 the classical outline cannot tell (7° of rotation does)
MIN_EFFUSION_ML = 5.0


@dataclass
class _Writer:
    """Collects findings per region and the masks their phrases point at."""

    artefacts: dict[str, np.ndarray] = field(default_factory=dict)
    sections: dict[str, list[Finding]] = field(default_factory=dict)
    positives: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    unassessed: list[str] = field(default_factory=list)
    refused: str = ""  # why nothing at all was measured (then the impression says so)

    def ground(self, mask: BoolArray) -> Grounding:
        ref = content_ref(mask)
        self.artefacts[ref] = mask
        box = normalised_box(mask)
        return Grounding(boxes=(box,) if box else (), mask_ref=ref, source="segmenter")

    def add(self, region: str, text: str, grounded: Mapping[str, BoolArray | None] | None = None) -> None:
        """Add a finding; each key of ``grounded`` is a substring of ``text`` grounded to its mask."""
        phrases = []
        for phrase, mask in (grounded or {}).items():
            start = text.find(phrase)
            if start < 0:
                raise ValueError(f"phrase {phrase!r} is not in {text!r}")
            grounding = self.ground(mask) if mask is not None and mask.any() else None
            phrases.append(Phrase(phrase, (start, start + len(phrase)), grounding))
        findings = self.sections.setdefault(region, [])
        slug = re.sub(r"[^a-z0-9]+", "-", region.lower()).strip("-")
        findings.append(Finding(id=f"{slug}-{len(findings) + 1}", region=region, text=text,
                                phrases=tuple(phrases)))

    def build(self, kind: str) -> tuple[Section, ...]:
        return tuple(Section(r, tuple(self.sections.get(r, ()))) for r in regions_for(kind))

    def heart(self, ctr: float, heart: BoolArray, ratio: str, enlarged: HeartWords, *, caveat: str = "",
              borderline: float = 0.0) -> None:
        """The heart-size finding from a cardiothoracic ratio (``ctr``, already rounded as shown).

        Borderline within ``borderline`` of :data:`CTR_ENLARGED` (0 = never), enlarged above it,
        normal otherwise; an enlarged or borderline heart also goes to the impression's positives.

        Args:
            ctr: The ratio shown.
            heart: The heart mask the sentence is grounded to.
            ratio: How the ratio is named (``cardiothoracic ratio``, ``axial cardiothoracic ratio``).
            enlarged: The wording of an enlarged heart.
            caveat: Appended inside the finding's parentheses (e.g. the AP projection's magnification).
            borderline: Half-width of the borderline band.
        """
        shown = f"{ratio} {ctr:.2f}"
        if borderline and round(abs(ctr - CTR_ENLARGED), 2) <= borderline:
            self.positives.append(f"Borderline heart size ({shown}).")
            self.add("heart", f"Heart size is borderline ({shown}{caveat}).", {"Heart size": heart})
        elif ctr > CTR_ENLARGED:
            self.positives.append(f"{enlarged.positive} ({shown}).")
            self.add("heart", f"{enlarged.finding} ({shown}{caveat}).", {enlarged.phrase: heart})
        else:
            self.add("heart", f"Heart size is normal ({shown}{caveat}).", {"Heart size": heart})


@dataclass(frozen=True)
class HeartWords:
    """How an enlarged heart is worded: the finding, the impression's positive, the grounded phrase."""

    finding: str
    positive: str
    phrase: str


def _mask(masks: Mapping[str, RegionMask], region: str, part: str | None = None) -> BoolArray | None:
    m = masks.get(region)
    if m is None:
        return None
    return m.parts.get(part) if part else m.mask


def _fmt_hu(value: float) -> str:
    return f"{value:.0f}".replace("-", "−")  # U+2212, the typographic minus used in reports
