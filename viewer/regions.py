"""The region vocabulary (DESIGN §4): the report sections of each study kind, in report order.

This is the one home of the region names. ``inference.records`` re-exports them, ``viewer.colors`` gives
each a colour, segmenters produce masks under them, generators, parsers, importers and exports order
and check sections with :func:`regions_for`.

CT uses Reg2RG's ten regions (how Reg2RG itself orders and numbers them in its prompts is the adapter's
business: ``inference/prompts.py``); CXR uses ten anatomy groups. A section without a mask (such as a CT
``other`` section for what a model reports outside the ten regions) goes into the kind's sections after
its regions, never into the regions, which segmenters must cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import get_args

from viewer.records import StudyKind

CT_REGIONS: tuple[str, ...] = (
    "abdomen", "bones", "breasts", "esophagus", "heart", "lungs",
    "trachea and bronchi", "mediastinum", "pleura", "thyroid",
)
"""CT regions with a mask, in Reg2RG's order."""

CT_SECTIONS: tuple[str, ...] = (*CT_REGIONS, "other")
"""The sections of a CT report in order: the regions, then ``other`` (no mask): the home of what a model
reports outside them (Reg2RG's "The other report is: {other: …}", e.g. brain sentences in CTRG
predictions). Segmenters produce :data:`CT_REGIONS` only."""

CXR_REGIONS: tuple[str, ...] = (
    "lungs", "pleura", "heart", "mediastinum", "airway", "diaphragm",
    "bones", "soft tissues", "support devices", "other",
)
"""The sections of a chest radiograph report, in order."""

SECTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({"ct": CT_SECTIONS, "cxr": CXR_REGIONS})
"""Study kind → its report sections in order (every :data:`viewer.records.StudyKind`)."""

REGION_NAMES: tuple[str, ...] = tuple(dict.fromkeys(name for kind in sorted(SECTIONS)
                                                    for name in SECTIONS[kind]))
"""Every section name of every kind, once (CT's first)."""


def study_kinds() -> tuple[str, ...]:
    """The study kinds, sorted (``ct``, ``cxr``)."""
    return tuple(sorted(get_args(StudyKind)))


def regions_for(kind: str) -> tuple[str, ...]:
    """The report sections of a study kind, in order (DESIGN §4).

    Args:
        kind: ``ct`` or ``cxr``.

    Returns:
        The ordered region names.

    Raises:
        ValueError: For any other kind.
    """
    sections = SECTIONS.get(kind)
    if sections is None:
        kinds = " or ".join(repr(k) for k in study_kinds())
        raise ValueError(f"unknown study kind {kind!r}; expected {kinds}")
    return sections
