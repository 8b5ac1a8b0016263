"""Prompt builders: a study (+ region masks) → chat messages and model images, one request per call.

Modes and where their wording comes from:

* ``cxr-plain`` — LLaVA-Rad (Zambrano Chaves et al., Nat. Commun. 2025; github.com/microsoft/LLaVA-Rad,
  ``llava/eval/model_mimic_cxr.py`` with the ``mimic_test_findings`` loader): ``<image>`` then
  "Provide a description of the findings in the radiology image given the following indication:
  {indication}" (or "… in the radiology image." without one); conversation template ``v1`` (Vicuna).
* ``cxr-context`` — LLM-RG4-style flexible context (Wang et al., AAAI 2025): current frontal, current
  lateral, prior frontal image and prior report, each included only when present, named in the
  prompt next to its image (MAIRA-2's image wording), indication appended.
* ``cxr-grounded`` — MAIRA-2's grounded reporting prompt (Bannur et al. 2024; ``Maira2Processor``
  ``_construct_chat_messages_reporting(get_grounding=True)``), answered as
  ``<obj>phrase</obj><box><x..><y..><x..><y..></box>`` (100 bins).
* ``ct-global`` — CT without region masks (no segmenter, or none of the asked regions found): the
  whole-volume montage with LLaVA-Rad's instruction, parsed as prose.
* ``ct-region`` — Reg2RG (Chen et al., MICCAI 2025; ``src/Dataset/radgenome_dataset_test.py``):
  global context image + one region image per prompt, instruction verbatim, answered as
  ``The region i is <area>: …``. Reg2RG numbers the regions of one prompt from 0; with one region
  per prompt we use the region's 1-based position in DESIGN §4's CT order instead, so the
  ``reg2rg`` parser maps the answer back to the region even when the model names the area differently.

Rendering uses the processor's chat template when it has one, else LLaVA's ``v1`` template with the
processor's image token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference import image_prep
from inference.image_prep import ModelImage
from inference.records import CT_REGIONS
from viewer.records import Study

MODES: tuple[str, ...] = ("auto", "cxr-plain", "cxr-context", "cxr-grounded", "ct-region", "ct-global")
VICUNA_V1_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)
LLAVA_RAD_FINDINGS = "Provide a description of the findings in the radiology image"
MAIRA2_SYSTEM = "You are an expert radiology assistant tasked with interpreting a chest X-ray study."
REG2RG_INSTRUCTION = (
    "Given the provided global and regional information from this CT scan, please generate a comprehensive "
    "medical report for each region. First, identify the anatomical area corresponding to each region, "
    "then provide detailed information about these anatomical structures and any abnormalities that are "
    "essential. You can refer to the global information as the context and take it as a supplement when "
    "generating each region report."
)
MAIRA2_GROUNDED = (
    "Provide a description of the findings in the radiology study in comparison to the prior frontal image. "
    "Each finding should be described as a self-contained plain-text sentence. If the finding is groundable, "
    "locate the finding in the current frontal chest X-ray image, with bounding boxes indicating all "
    "locations where it can be seen in the current frontal image. Otherwise, generate just the ungrounded "
    "finding without bounding boxes."
)


@dataclass(frozen=True, eq=False)
class PromptRequest:
    """One generation call.

    Attributes:
        mode: One of :data:`MODES` (not ``auto``).
        messages: Chat messages; content items are ``{"type": "text", "text": …}`` or ``{"type": "image"}``
            (the n-th image item is ``images[n]``).
        images: The model images in prompt order.
        grammar: Parser for the answer: ``prose``, ``maira2`` or ``reg2rg``.
        region: The region a ``ct-region`` request is about.
        attention_image: Index into ``images`` of the image heat maps are drawn on.
    """

    mode: str
    messages: tuple[dict[str, Any], ...]
    images: tuple[ModelImage, ...]
    grammar: str
    region: str | None = None
    attention_image: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The user-visible prompt text with ``<image>`` where each image goes (for provenance)."""
        return render_plain(self.messages, "<image>", system=False)


def _text(t: str) -> dict[str, str]:
    return {"type": "text", "text": t}


IMAGE: dict[str, str] = {"type": "image"}


def llava_rad_instruction(indication: str | None) -> str:
    """LLaVA-Rad's findings instruction, with the indication when given."""
    if indication and indication.strip():
        reason = " ".join(indication.split())
        return f"{LLAVA_RAD_FINDINGS} given the following indication: {reason}"
    return f"{LLAVA_RAD_FINDINGS}."


def _arrays(masks: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Region → bool array, accepting ``RegionMask`` records or bare arrays."""
    return {name: np.asarray(getattr(m, "mask", m), dtype=bool) for name, m in masks.items()}


def cxr_plain(
    study: Study, masks: Mapping[str, Any] | None = None, *, conditioning: str = "none"
) -> PromptRequest:
    """LLaVA-Rad prompt: the frontal image and the indication."""
    frontal = image_prep.radiograph(study.primary, "frontal", _arrays(masks or {}), conditioning)
    content = [IMAGE, _text(llava_rad_instruction(study.indication))]
    return PromptRequest("cxr-plain", ({"role": "user", "content": content},), (frontal,), "prose")


def _context_images(
    study: Study, masks: Mapping[str, Any] | None, conditioning: str, max_images: int
) -> list[tuple[str, ModelImage]]:
    named = [
        (
            "the current frontal image",
            image_prep.radiograph(study.primary, "frontal", _arrays(masks or {}), conditioning),
        )
    ]
    if study.lateral is not None and len(named) < max_images:
        named.append(("the current lateral image", image_prep.radiograph(study.lateral, "lateral")))
    if study.prior is not None and len(named) < max_images:
        named.append(("the prior frontal image", image_prep.radiograph(study.prior.primary, "prior frontal")))
    return named


def _image_phrase(named: list[tuple[str, ModelImage]]) -> list[dict[str, str]]:
    """MAIRA-2 wording: "Given the current frontal image <img> the … and the prior frontal image <img>"."""
    if len(named) == 1:
        return [_text("Given the current frontal image only"), IMAGE]
    content: list[dict[str, str]] = []
    for n, (name, _) in enumerate(named):
        lead = "Given " if n == 0 else (" and " if n == len(named) - 1 else " ")
        content += [_text(f"{lead}{name}"), IMAGE]
    return content


def _sections(study: Study, prior_report: bool) -> str:
    parts = []
    if prior_report and study.prior_report:
        parts.append(f"PRIOR_REPORT: {' '.join(study.prior_report.split())}")
    return " ".join(parts)


def cxr_context(
    study: Study, masks: Mapping[str, Any] | None = None, *, conditioning: str = "none", max_images: int = 3
) -> PromptRequest:
    """LLM-RG4-style prompt with whatever context exists: lateral, prior image, prior report, indication."""
    named = _context_images(study, masks, conditioning, max_images)
    content = _image_phrase(named)
    prior = _sections(study, prior_report=True)
    if prior:
        content.append(_text(prior))
    content.append(
        _text(llava_rad_instruction(study.indication).replace("radiology image", "radiology study"))
    )
    return PromptRequest(
        "cxr-context", ({"role": "user", "content": content},), tuple(img for _, img in named), "prose"
    )


def cxr_grounded(
    study: Study, masks: Mapping[str, Any] | None = None, *, conditioning: str = "none", max_images: int = 3
) -> PromptRequest:
    """MAIRA-2 grounded reporting prompt (boxes on the current frontal image)."""
    named = _context_images(study, masks, conditioning, max_images)
    content = _image_phrase(named)
    has_prior = any(name == "the prior frontal image" for name, _ in named)
    if has_prior:
        content.append(_text(f"PRIOR_REPORT: {' '.join((study.prior_report or 'N/A').split())}"))
    indication = " ".join((study.indication or "N/A").split())
    content.append(
        _text(
            f"{MAIRA2_GROUNDED} INDICATION: {indication} TECHNIQUE: N/A COMPARISON: "
            f"{'prior frontal image' if has_prior else 'N/A'}"
        )
    )
    messages = ({"role": "system", "content": [_text(MAIRA2_SYSTEM)]}, {"role": "user", "content": content})
    return PromptRequest("cxr-grounded", messages, tuple(img for _, img in named), "maira2")


def ct_region(
    study: Study,
    region: str,
    masks: Mapping[str, Any],
    *,
    n_slices: int = 4,
    conditioning: str = "none",
    max_images: int = 2,
    tile: int = 256,
) -> PromptRequest:
    """Reg2RG prompt for one region: global montage (when two images fit) + the region's masked montage."""
    arrays = _arrays(masks)
    if region not in arrays:
        raise ValueError(f"no mask for region {region!r}; have {', '.join(sorted(arrays)) or 'none'}")
    index = CT_REGIONS.index(region) + 1 if region in CT_REGIONS else len(CT_REGIONS) + 1
    region_img = image_prep.ct_region(
        study.primary,
        arrays[region],
        label=f"ct region {region}",
        n_slices=n_slices,
        masks=arrays,
        conditioning=conditioning,
        target=region,
        tile=tile,
    )
    content: list[dict[str, str]] = []
    images: tuple[ModelImage, ...] = (region_img,)
    if max_images >= 2:
        global_img = image_prep.ct_region(
            study.primary, None, label="ct global", n_slices=n_slices, tile=tile
        )
        content += [_text("The global information is provided as the context:"), IMAGE, _text(".")]
        images = (global_img, region_img)
    content += [_text(f"The region {index} is"), IMAGE, _text(f". {REG2RG_INSTRUCTION}")]
    if study.indication:
        content.append(_text(f"INDICATION: {' '.join(study.indication.split())}"))
    content.append(_text(f"Answer as: The region {index} is <anatomical area>: <findings>."))
    return PromptRequest(
        "ct-region",
        ({"role": "user", "content": content},),
        images,
        "reg2rg",
        region=region,
        attention_image=len(images) - 1,
    )


def ct_global(study: Study, *, n_slices: int = 4, tile: int = 256) -> PromptRequest:
    """Whole-volume prompt for CT without region masks: the global montage + LLaVA-Rad's instruction."""
    image = image_prep.ct_region(study.primary, None, label="ct global", n_slices=n_slices, tile=tile)
    content = [IMAGE, _text(llava_rad_instruction(study.indication))]
    return PromptRequest("ct-global", ({"role": "user", "content": content},), (image,), "prose")


def choose_mode(study: Study, mode: str = "auto", *, grounding: bool = False, max_images: int = 1) -> str:
    """Resolve ``auto``: CT → ``ct-region``; CXR → grounded if the model grounds, context if it takes
    several images and there is context, else plain. An explicit mode must fit the study kind."""
    if mode not in MODES:
        raise ValueError(f"unknown prompt mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode != "auto":
        if mode.startswith("ct-") != (study.kind == "ct"):
            raise ValueError(f"prompt mode {mode!r} does not fit a {study.kind.upper()} study")
        return mode
    if study.kind == "ct":
        return "ct-region"
    if grounding:
        return "cxr-grounded"
    has_context = study.lateral is not None or study.prior is not None or bool(study.prior_report)
    return "cxr-context" if has_context and max_images > 1 else "cxr-plain"


def build_requests(
    study: Study,
    masks: Mapping[str, Any],
    mode: str,
    *,
    conditioning: str = "none",
    max_images: int = 1,
    n_slices: int = 4,
    regions: tuple[str, ...] | None = None,
) -> list[PromptRequest]:
    """All requests for one draft: one for CXR, one per masked region (DESIGN §4 order) for CT."""
    if mode == "cxr-plain":
        return [cxr_plain(study, masks, conditioning=conditioning)]
    if mode == "cxr-context":
        return [cxr_context(study, masks, conditioning=conditioning, max_images=max_images)]
    if mode == "cxr-grounded":
        return [cxr_grounded(study, masks, conditioning=conditioning, max_images=max_images)]
    if mode == "ct-global":
        return [ct_global(study, n_slices=n_slices)]
    unknown = sorted(set(regions or ()) - set(CT_REGIONS))
    if unknown:
        raise ValueError(f"unknown CT region(s) {', '.join(unknown)}; choose from {', '.join(CT_REGIONS)}")
    wanted = regions or CT_REGIONS
    present = [r for r in wanted if r in masks and np.asarray(getattr(masks[r], "mask", masks[r])).any()]
    if not present:  # no segmentation (or none of the asked regions): report on the whole volume
        return [ct_global(study, n_slices=n_slices)]
    return [
        ct_region(study, r, masks, n_slices=n_slices, conditioning=conditioning, max_images=max_images)
        for r in present
    ]


def render_plain(messages: tuple[dict[str, Any], ...], image_token: str, *, system: bool = True) -> str:
    """LLaVA ``v1`` template: ``{system} USER: {content} ASSISTANT:`` with ``image_token`` per image."""
    parts = []
    for message in messages:
        body = "".join(
            f"{image_token}\n" if c["type"] == "image" else c["text"] + " " for c in message["content"]
        )
        if message["role"] == "system":
            parts.append(body.strip())
        else:
            parts.append(f"{message['role'].upper()}: {body.strip()}")
    if system and not any(m["role"] == "system" for m in messages):
        parts.insert(0, VICUNA_V1_SYSTEM)
    return " ".join(parts) + (" ASSISTANT:" if system else "")


def render(request: PromptRequest, processor: Any) -> str:
    """The prompt string for ``processor``: its chat template when it has one, else :func:`render_plain`."""
    if getattr(processor, "chat_template", None):
        return str(
            processor.apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=False)
        )
    token = getattr(processor, "image_token", None) or "<image>"
    return render_plain(request.messages, token)
