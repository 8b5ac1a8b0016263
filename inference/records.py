"""Draft records (DESIGN §2): what a generator produces and what review actions refer to.

All records are frozen dataclasses. ``to_json``/``draft_from_json`` give a lossless JSON round trip
(``dataclasses.asdict`` with tuples as lists); ``radreview draft --json`` prints exactly this.

Box conventions: 2D ``(x_min, y_min, x_max, y_max)`` normalised to [0, 1] of the **original** image
width (columns) and height (rows); 3D ``(x_min, y_min, z_min, x_max, y_max, z_max)`` normalised to the
canonical SPL volume, with x along columns (axis 2), y along rows (axis 1), z along slices (axis 0).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

# The region vocabulary lives in viewer.regions (DESIGN §4); re-exported here for the records' users.
from viewer.regions import CT_REGIONS as CT_REGIONS
from viewer.regions import CT_SECTIONS as CT_SECTIONS
from viewer.regions import CXR_REGIONS as CXR_REGIONS
from viewer.regions import regions_for as regions_for

GroundingSource = Literal["model", "segmenter", "reviewer"]
Quantization = Literal["none", "8bit", "4bit"]

FLAGS: tuple[str, ...] = (
    "prior_reference_without_prior", "view_reference_mismatch",
    "procedure_or_communication", "ungrounded", "malformed_output",
)


def _check_box(box: tuple[float, ...]) -> None:
    if len(box) not in (4, 6):
        raise ValueError(f"a box has 4 (2D) or 6 (3D) numbers, got {len(box)}: {box}")
    half = len(box) // 2
    if any(not 0.0 <= v <= 1.0 for v in box):
        raise ValueError(f"box {box} is outside [0, 1]; boxes are normalised to the original image")
    if any(box[i] > box[i + half] for i in range(half)):
        raise ValueError(f"box {box} has a min greater than its max")


@dataclass(frozen=True)
class Grounding:
    """Where a phrase points: boxes, a stored mask, an attention heat map.

    Attributes:
        boxes: Normalised boxes (see module docstring).
        mask_ref: Content hash of a stored label mask (``inference.artefacts.content_ref``).
        attention_ref: Content hash of a stored heat map.
        source: Who produced it.
    """

    boxes: tuple[tuple[float, ...], ...] = ()
    mask_ref: str | None = None
    attention_ref: str | None = None
    source: GroundingSource = "model"

    def __post_init__(self) -> None:
        for box in self.boxes:
            _check_box(box)

    @property
    def is_empty(self) -> bool:
        """True when it points nowhere (no box, no mask)."""
        return not self.boxes and self.mask_ref is None


@dataclass(frozen=True)
class Phrase:
    """A grounded span of a finding's text."""

    text: str
    span: tuple[int, int]
    grounding: Grounding | None = None


@dataclass(frozen=True)
class Finding:
    """One reviewable sentence or statement of the report."""

    id: str
    region: str
    text: str
    phrases: tuple[Phrase, ...] = ()
    flags: tuple[str, ...] = ()
    origin: Literal["model", "reviewer"] = "model"


@dataclass(frozen=True)
class Section:
    """The findings of one region, in report order."""

    region: str
    findings: tuple[Finding, ...] = ()

    @property
    def text(self) -> str:
        """The section's findings joined as prose."""
        return " ".join(f.text for f in self.findings)


@dataclass(frozen=True)
class Provenance:
    """Everything needed to reproduce or audit a draft."""

    generator: str
    model_id: str
    model_revision: str | None = None
    quantization: Quantization = "none"
    device: str = "cpu"
    prompts: tuple[str, ...] = ()
    generation_params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    input_sha256s: tuple[str, ...] = ()
    segmenter: str | None = None
    package_version: str = ""
    label: str = ""
    created_at: str = ""


@dataclass(frozen=True)
class Draft:
    """A generated (or imported) report, split per region.

    Attributes:
        case_id: The study's pseudonymous id.
        sections: One per region, in DESIGN §4 order.
        impression: Summary, if any.
        provenance: Who/what produced it and from which inputs.
        latency_s: Seconds per stage (``segment``, ``generate``, ``ground``…).
        artefacts: Arrays referenced by ``mask_ref``/``attention_ref`` (not serialised; storage
            persists them under their content hash).
    """

    case_id: str
    sections: tuple[Section, ...]
    impression: str | None
    provenance: Provenance
    latency_s: Mapping[str, float] = field(default_factory=dict)
    artefacts: Mapping[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """All findings in report order."""
        return tuple(f for s in self.sections for f in s.findings)

    def finding(self, finding_id: str) -> Finding:
        """Look a finding up by id.

        Raises:
            KeyError: naming the id and the draft's case.
        """
        for f in self.findings:
            if f.id == finding_id:
                return f
        raise KeyError(f"finding {finding_id!r} is not in the draft of case {self.case_id!r}")

    @property
    def text(self) -> str:
        """The report as plain text: one ``REGION: text`` line per non-empty section + impression."""
        lines = [f"{s.region.upper()}: {s.text}" for s in self.sections if s.findings]
        if self.impression:
            lines.append(f"IMPRESSION: {self.impression}")
        return "\n".join(lines)


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: _to_plain(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.name != "artefacts"
        }
    if isinstance(obj, Mapping):
        return {str(k): _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    return obj


def to_dict(record: Any) -> dict[str, Any]:
    """A record as plain JSON-able data (tuples become lists, artefacts are dropped)."""
    plain = _to_plain(record)
    assert isinstance(plain, dict)
    return plain


def to_json(record: Any, **kwargs: Any) -> str:
    """Serialise a record to JSON text."""
    return json.dumps(to_dict(record), **kwargs)


def _tuple_box(box: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in box)


def grounding_from_dict(data: Mapping[str, Any] | None) -> Grounding | None:
    """Rebuild a :class:`Grounding` from :func:`to_dict` output."""
    if data is None:
        return None
    return Grounding(
        boxes=tuple(_tuple_box(b) for b in data.get("boxes", ())),
        mask_ref=data.get("mask_ref"),
        attention_ref=data.get("attention_ref"),
        source=data.get("source", "model"),
    )


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    """Rebuild a :class:`Finding` from :func:`to_dict` output."""
    phrases = tuple(
        Phrase(text=p["text"], span=(int(p["span"][0]), int(p["span"][1])),
               grounding=grounding_from_dict(p.get("grounding")))
        for p in data.get("phrases", ())
    )
    return Finding(id=data["id"], region=data["region"], text=data["text"], phrases=phrases,
                   flags=tuple(data.get("flags", ())), origin=data.get("origin", "model"))


def provenance_from_dict(data: Mapping[str, Any]) -> Provenance:
    """Rebuild a :class:`Provenance` from :func:`to_dict` output."""
    values = dict(data)
    for key in ("prompts", "input_sha256s"):
        values[key] = tuple(values.get(key, ()))
    return Provenance(**values)


def draft_from_dict(data: Mapping[str, Any]) -> Draft:
    """Rebuild a :class:`Draft` from :func:`to_dict` output (artefacts are not part of JSON)."""
    sections = tuple(
        Section(region=s["region"], findings=tuple(finding_from_dict(f) for f in s["findings"]))
        for s in data["sections"]
    )
    return Draft(case_id=data["case_id"], sections=sections, impression=data.get("impression"),
                 provenance=provenance_from_dict(data["provenance"]),
                 latency_s=dict(data.get("latency_s", {})))


def draft_from_json(text: str) -> Draft:
    """Parse :func:`to_json` output back into a :class:`Draft`."""
    return draft_from_dict(json.loads(text))
