"""What the model-backed generators (``hf``, ``openai``) share: parse, ground, assemble sections."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inference.artefacts import content_ref
from inference.prompts import PromptRequest
from inference.records import Finding, Grounding, Phrase, Section, regions_for
from viewer.records import Study


def package_version() -> str:
    """The installed radreview version (``0.0.0+src`` from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("radreview")
    except PackageNotFoundError:
        return "0.0.0+src"


def parse_generation(request: PromptRequest, text: str, study: Study) -> tuple[list[Finding], str | None]:
    """Parse one answer with the request's grammar into findings (+ the impression text, if any)."""
    raise NotImplementedError("waiting for inference.parsers")


def region_mask_ref(
    request: PromptRequest, masks: Mapping[str, Any], artefacts: dict[str, np.ndarray]
) -> str | None:
    """Content ref of the mask a region-guided request was about (stored in ``artefacts``), else None."""
    if request.region is None or request.region not in masks:
        return None
    mask = np.asarray(getattr(masks[request.region], "mask", masks[request.region]), dtype=bool)
    ref = content_ref(mask)
    artefacts[ref] = mask
    return ref


def with_refs(phrase: Phrase, heat_ref: str | None, mask_ref: str | None) -> Phrase:
    """``phrase`` with an attention and/or region mask reference added to its grounding (boxes kept)."""
    if heat_ref is None and mask_ref is None:
        return phrase
    base = phrase.grounding or Grounding(source="segmenter" if mask_ref else "model")
    grounding = dataclasses.replace(
        base, attention_ref=heat_ref or base.attention_ref, mask_ref=base.mask_ref or mask_ref
    )
    return dataclasses.replace(phrase, grounding=grounding)


def whole_phrases(finding: Finding) -> tuple[Phrase, ...]:
    """The finding's phrases, or one phrase spanning its whole text when the parser made none."""
    return finding.phrases or (Phrase(finding.text, (0, len(finding.text))),)


def ground_to_region(
    findings: Sequence[Finding],
    request: PromptRequest,
    masks: Mapping[str, Any],
    artefacts: dict[str, np.ndarray],
) -> list[Finding]:
    """For region-guided (CT) requests, point every phrase at the region mask the model was shown."""
    ref = region_mask_ref(request, masks, artefacts)
    if ref is None:
        return list(findings)
    return [
        dataclasses.replace(f, phrases=tuple(with_refs(p, None, ref) for p in whole_phrases(f)))
        for f in findings
    ]


def sections(kind: str, findings: Sequence[Finding]) -> tuple[Section, ...]:
    """Findings grouped into DESIGN §4 sections, renumbered ``f1…`` in report order."""
    order = regions_for(kind)
    ordered = [f for r in order for f in findings if f.region == r]
    numbered = [dataclasses.replace(f, id=f"f{i + 1}") for i, f in enumerate(ordered)]
    return tuple(Section(r, tuple(f for f in numbered if f.region == r)) for r in order)
