"""The stage helpers of :mod:`inference.generators.pipeline`: parse, ground, assemble sections."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inference.artefacts import content_ref
from inference.prompts import PromptRequest
from inference.records import Finding, Grounding, Phrase, Section, regions_for
from viewer.records import Study
from viewer.version import package_version as package_version

_IMPRESSION = re.compile(r"\bIMPRESSIONS?\s*:", re.IGNORECASE)
_FINDINGS = re.compile(r"^\s*FINDINGS?\s*:\s*", re.IGNORECASE)


def split_impression(text: str) -> tuple[str, str | None]:
    """Split ``FINDINGS: … IMPRESSION: …`` into (findings text, impression or None); labels removed."""
    match = _IMPRESSION.search(text)
    findings = text[: match.start()] if match else text
    impression = " ".join(text[match.end() :].split()) if match else None
    return _FINDINGS.sub("", findings).strip(), impression or None


def grammar_options(grammar: str, study: Study, request: PromptRequest | None = None) -> dict[str, Any]:
    """The request-dependent keyword options of a grammar's parser.

    MAIRA-2 boxes are mapped back to the original frontal image the way the model image was made square
    (``request.preprocessing``: ``pad`` → ``mode="pad"``, else MAIRA-2's centre ``crop``); Reg2RG's
    "The region i" is read against ``request.regions``.
    """
    if grammar == "maira2":
        rows, cols = study.primary.shape[-2:]
        pad = request is not None and request.preprocessing == "pad"
        return {"image_size": (cols, rows), "mode": "pad" if pad else "crop"}
    if grammar == "reg2rg":
        return {"regions": request.regions if request is not None else None}
    return {}


def parse_text(grammar: str, text: str, study: Study, request: PromptRequest | None = None) -> Any:
    """Run the grammar's parser (:func:`inference.parsers.parse_output`) on ``text``; its ``ParseResult``."""
    from inference.parsers import parse_output

    return parse_output(grammar, text, study.kind, **grammar_options(grammar, study, request))


def parse_generation(
    request: PromptRequest, text: str, study: Study, grammar: str | None = None
) -> tuple[list[Finding], str | None]:
    """Parse one answer into findings (+ the impression text, if any).

    Args:
        request: The request answered (its ``grammar`` is used unless ``grammar`` overrides it).
        text: The model's answer.
        study: The study (kind; frontal image size for box mapping).
        grammar: Override, e.g. ``vividmed`` for a VividMed-style model.

    Region-guided (CT) answers keep the region the parser read from the ``The region i is <area>:``
    header; when the answer has no header at all, its findings get the region the request was about
    (still flagged ``malformed_output`` by the parser). Finding ids are provisional; :func:`sections`
    renumbers them.
    """
    body, impression = split_impression(text)
    findings = list(parse_text(grammar or request.grammar, body, study, request).findings)
    valid = regions_for(study.kind)
    if request.region is not None:
        headerless = "the region" not in body.lower()
        findings = [
            dataclasses.replace(f, region=request.region) if headerless or f.region not in valid else f
            for f in findings
        ]
    return findings, impression


def region_mask_ref(
    request: PromptRequest, masks: Mapping[str, Any], artefacts: dict[str, np.ndarray],
    region: str | None = None,
) -> str | None:
    """Content ref of the region mask a finding was prompted with (stored in ``artefacts``), else None.

    A one-region request points at its region; a several-region request (Reg2RG's one prompt) at
    ``region`` (the finding's) when that region was in the prompt.
    """
    chosen = request.region if request.region is not None else (
        region if region is not None and region in request.regions else None)
    if chosen is None or chosen not in masks:
        return None
    mask = np.asarray(getattr(masks[chosen], "mask", masks[chosen]), dtype=bool)
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
    out = []
    for f in findings:
        ref = region_mask_ref(request, masks, artefacts, f.region)
        out.append(f if ref is None else dataclasses.replace(
            f, phrases=tuple(with_refs(p, None, ref) for p in whole_phrases(f))))
    return out


def sections(kind: str, findings: Sequence[Finding]) -> tuple[Section, ...]:
    """Findings grouped into DESIGN §4 sections, renumbered ``f1…`` in report order."""
    order = regions_for(kind)
    ordered = [f for r in order for f in findings if f.region == r]
    numbered = [dataclasses.replace(f, id=f"f{i + 1}") for i, f in enumerate(ordered)]
    return tuple(Section(r, tuple(f for f in numbered if f.region == r)) for r in order)


def input_notes(requests: Sequence[PromptRequest]) -> dict[str, Any]:
    """What provenance records about the model input: preprocessing, LLM-RG4 context mode, upstream prompt."""
    notes: dict[str, Any] = {}
    for request in requests:
        for key in ("preprocessing", "context_mode", "context_mode_meaning", "upstream_prompt"):
            if key in request.options:
                notes[key] = request.options[key]
    return notes


def context_label(notes: Mapping[str, Any]) -> str:
    """``", LLM-RG4 setting mw (multi-view …)"`` for the draft label the reviewer sees, else ``""``."""
    if "context_mode" not in notes:
        return ""
    return f", LLM-RG4 setting {notes['context_mode']}: {notes.get('context_mode_meaning', '')}"
