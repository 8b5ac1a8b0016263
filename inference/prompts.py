"""Prompt builders: a study (+ region masks) → chat messages and model images, as each model's authors
run it. Every constant below is checked against the upstream file named next to it (``docs/adapters.md``
has the full fidelity table).

* ``cxr-plain`` — LLaVA-Rad (microsoft/LLaVA-Rad@1fc4409): ``llava/utils.py``
  ``data_loader_mimic_reason_findings`` ("<image>\nProvide a description of the findings in the radiology
  image given the following indication: {reason}", ``reason.replace('\n', ' ')``; "… in the radiology
  image." without one) in the ``v1`` conversation (``scripts/eval.sh`` ``conv_mode="v1"`` →
  ``llava/conversation.py`` ``conv_vicuna_v1``: "A chat between a curious **user** …",
  ``SeparatorStyle.TWO``).
* ``cxr-context`` — LLM-RG4 (zh-Wang-Med/LLM-RG4@04b2315, ``models/LLM_RG4.py`` ``prompt_sn`` and
  ``dataset/data_helper_{sn,sw,mn,mw}.py``): the input setting is ``s``/``m`` (single view / multi-view:
  a lateral image) + ``n``/``w`` (without / with the longitudinal prior report); ``h_i`` is
  "INDICATION: …" when there is an indication; the instruction names the frontal view (PA/AP).
  Upstream fuses the lateral image and the prior report into the image tokens by cross-attention; a
  generic chat model gets them as a second image and a ``PRIOR_REPORT:`` text. No prior image (upstream
  loads ``last_image`` but never feeds it). The setting is recorded as ``context_mode`` in provenance.
* ``cxr-grounded`` — MAIRA-2 (``Maira2Processor._construct_chat_messages_reporting(get_grounding=True)``,
  public mirror johannes2moll/maira_rrg@8d43007:processing_maira2.py): one ``user`` message whose text
  items carry their own leading spaces (" the current lateral image", " PRIOR_REPORT: …",
  " Provide …"); **no** system message (MAIRA-2's chat template renders every non-user role as
  ``ASSISTANT: …</s>``); missing sections are ``N/A``.
* ``ct-region`` — Reg2RG (zhi-xuan-chen/Reg2RG@4effe09, ``src/Dataset/radgenome_dataset_test.py``):
  "The global information is provided as the context: <image>. The region 0 is <region>. The region 1 is
  <region>. … {instruction}" — all regions in one prompt, numbered from 0 in upstream's region order
  (:data:`REG2RG_ORDER`, regions without a mask skipped). When the model takes fewer images than
  regions + 1, each region gets its own prompt and is "The region 0" there (the same rule: its 0-based
  position in its prompt). :attr:`PromptRequest.regions` records the position → region map the
  ``reg2rg`` parser uses.
* ``ct-global`` — CT without region masks: the whole-volume montage with LLaVA-Rad's instruction.

Rendering uses the processor's chat template when it has one, else :func:`render_plain`
(``conv_vicuna_v1.get_prompt()`` reproduced).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference import image_prep
from inference.image_prep import ModelImage
from inference.prompt_render import VICUNA_V1_SYSTEM, render, render_plain
from inference.records import CT_REGIONS
from viewer.records import Study

__all__ = ["IMAGE", "MODES", "PREPROCESSING", "VICUNA_V1_SYSTEM", "PromptRequest", "build_requests",
           "choose_mode", "ct_global", "ct_region", "cxr_context", "cxr_grounded", "cxr_plain",
           "llava_rad_instruction", "reg2rg_order", "render", "render_plain"]

MODES: tuple[str, ...] = ("auto", "cxr-plain", "cxr-context", "cxr-grounded", "ct-region", "ct-global")
PREPROCESSING: tuple[str, ...] = ("pad", "crop", "maira2")
LLAVA_RAD_FINDINGS = "Provide a description of the findings in the radiology image"
REG2RG_INSTRUCTION = (
    "Given the provided global and regional information from this CT scan, please generate a comprehensive "
    "medical report for each region. First, identify the anatomical area corresponding to each region, "
    "then provide detailed information about these anatomical structures and any abnormalities that are "
    "essential. You can refer to the global information as the context and take it as a supplement when "
    "generating each region report."
)
# The sentence the CTRG-trained model's prompt adds (results/Reg2RG_ctrg/ctrg_combined_reports.csv, Question).
REG2RG_CTRG_OTHER = (
    "For those reports that have no specific region associated with them, "
    "generate an 'other report' at the end."
)
# src/Dataset/radgenome_dataset_test.py REGIONS, in our names (bone→bones, breast→breasts, lung→lungs,
# "trachea and bronchie"→"trachea and bronchi").
REG2RG_ORDER: tuple[str, ...] = (
    "abdomen", "bones", "breasts", "esophagus", "heart", "lungs", "mediastinum", "pleura", "thyroid",
    "trachea and bronchi",
)
MAIRA2_GROUNDED = (
    "Provide a description of the findings in the radiology study in comparison to the prior frontal image. "
    "Each finding should be described as a self-contained plain-text sentence. If the finding is groundable, "
    "locate the finding in the current frontal chest X-ray image, with bounding boxes indicating all "
    "locations where it can be seen in the current frontal image. Otherwise, generate just the ungrounded "
    "finding without bounding boxes."
)
MAIRA2_MISSING = "N/A"
# models/LLM_RG4.py: PA_fi_prompt / AP_fi_prompt / f_prompt.
LLM_RG4_VIEW_PROMPTS = {
    "PA": "Write radiological finding and impression for this posterior anterior chest X-ray visual feature",
    "AP": "Write radiological finding and impression for this anterior posterior chest X-ray visual feature",
}
LLM_RG4_NO_VIEW = "Write radiological finding section of report for chest X-ray examination"
LLM_RG4_SETTINGS = {
    "sn": "single view, no prior report",
    "sw": "single view, with the prior report",
    "mn": "multi-view (frontal + lateral), no prior report",
    "mw": "multi-view (frontal + lateral), with the prior report",
}


@dataclass(frozen=True, eq=False)
class PromptRequest:
    """One generation call.

    Attributes:
        mode: One of :data:`MODES` (not ``auto``).
        messages: Chat messages; content items are ``{"type": "text", "text": …}`` or ``{"type": "image"}``
            (the n-th image item is ``images[n]``).
        images: The model images in prompt order.
        grammar: Parser for the answer: ``prose``, ``maira2`` or ``reg2rg``.
        region: The region a one-region ``ct-region`` request is about.
        attention_image: Index into ``images`` of the image heat maps are drawn on.
        options: What provenance records about the input: ``context_mode`` (LLM-RG4 setting),
            ``upstream_prompt`` (the prompt string exactly as upstream builds it), ``preprocessing``.
        regions: For ``ct-region``: the region at each 0-based "The region i" position of the prompt.
    """

    mode: str
    messages: tuple[dict[str, Any], ...]
    images: tuple[ModelImage, ...]
    grammar: str
    region: str | None = None
    attention_image: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)
    regions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The user-visible prompt text with ``<image>`` where each image goes (for provenance)."""
        return render_plain(self.messages, "<image>", system=False)

    @property
    def preprocessing(self) -> str:
        """How the radiographs were made square (``pad``, ``crop`` or ``maira2``)."""
        return str(self.options.get("preprocessing", "pad"))


def _text(t: str) -> dict[str, str]:
    return {"type": "text", "text": t}


IMAGE: dict[str, str] = {"type": "image"}


def llava_rad_instruction(indication: str | None) -> str:
    """LLaVA-Rad's findings instruction (``llava/utils.py``: ``reason.replace('\\n', ' ')``; the eval
    script strips the whole query)."""
    if indication is not None and indication.strip():
        reason = indication.replace("\n", " ")
        return f"{LLAVA_RAD_FINDINGS} given the following indication: {reason}".strip()
    return f"{LLAVA_RAD_FINDINGS}."


def _arrays(masks: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Region → bool array, accepting ``RegionMask`` records or bare arrays."""
    return {name: np.asarray(getattr(m, "mask", m), dtype=bool) for name, m in masks.items()}


def _radiograph(image: Any, label: str, masks: Mapping[str, Any] | None, conditioning: str,
                preprocessing: str) -> ModelImage:
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {preprocessing!r}; choose one of {', '.join(PREPROCESSING)}")
    return image_prep.radiograph(
        image, label, _arrays(masks or {}), conditioning,
        square="pad" if preprocessing == "pad" else "crop",
        intensity="minmax" if preprocessing == "maira2" else "window",
    )


def cxr_plain(
    study: Study, masks: Mapping[str, Any] | None = None, *, conditioning: str = "none",
    preprocessing: str = "pad",
) -> PromptRequest:
    """LLaVA-Rad prompt: the frontal image and the indication."""
    frontal = _radiograph(study.primary, "frontal", masks, conditioning, preprocessing)
    content = [IMAGE, _text(llava_rad_instruction(study.indication))]
    return PromptRequest("cxr-plain", ({"role": "user", "content": content},), (frontal,), "prose",
                         options={"preprocessing": preprocessing})


def llm_rg4_setting(study: Study, max_images: int = 2) -> str:
    """LLM-RG4's input setting for ``study``: ``s``/``m`` (lateral used?) + ``n``/``w`` (prior report?)."""
    views = "m" if study.lateral is not None and max_images >= 2 else "s"
    prior = "w" if study.prior_report and study.prior_report.strip() else "n"
    return views + prior


def llm_rg4_history(indication: str | None, history: str | None = None) -> str:
    """``h_i`` of ``dataset/data_helper_*.py``: "INDICATION: …", "HISTORY: …", both, or ``''``."""
    if indication and history:
        return f"INDICATION: {indication} HISTORY: {history}"
    if indication:
        return f"INDICATION: {indication}"
    return f"HISTORY: {history}" if history else ""


def llm_rg4_prompt(view: str, h_i: str) -> str:
    """The prompt string exactly as ``models/LLM_RG4.py`` ``prompt_sn`` builds it (same for all settings).

    >>> llm_rg4_prompt("PA", "INDICATION: cough")
    'Human: INDICATION: cough <Img><ImageHere></Img> Write radiological finding and impression for this \
posterior anterior chest X-ray visual feature. \\nAssistant:'
    """
    instruction = LLM_RG4_VIEW_PROMPTS.get(view.upper())
    if instruction is None:
        return f"Human: {h_i} <Img><ImageHere></Img> \n{LLM_RG4_NO_VIEW}. \nAssistant:"
    return f"Human: {h_i} <Img><ImageHere></Img> {instruction}. \nAssistant:"


def cxr_context(
    study: Study, masks: Mapping[str, Any] | None = None, *, conditioning: str = "none", max_images: int = 3,
    preprocessing: str = "pad",
) -> PromptRequest:
    """LLM-RG4's prompt in its input setting (sn/sw/mn/mw): frontal (+ lateral) image, (+ prior report)."""
    setting = llm_rg4_setting(study, max_images)
    view = study.primary.view.upper()
    h_i = llm_rg4_history(" ".join(study.indication.split()) if study.indication else None)
    images = [_radiograph(study.primary, "frontal", masks, conditioning, preprocessing)]
    content: list[dict[str, str]] = [_text(h_i)] if h_i else []
    content.append(IMAGE)
    if setting[0] == "m" and study.lateral is not None:
        images.append(_radiograph(study.lateral, "lateral", None, "none", preprocessing))
        content.append(IMAGE)
    instruction = LLM_RG4_VIEW_PROMPTS.get(view, LLM_RG4_NO_VIEW)
    prior = f"PRIOR_REPORT: {' '.join((study.prior_report or '').split())} " if setting[1] == "w" else ""
    content.append(_text(f"{prior}{instruction}."))  # one text item: templates that trim items keep spaces
    options = {"context_mode": setting, "context_mode_meaning": LLM_RG4_SETTINGS[setting],
               "upstream_prompt": llm_rg4_prompt(view, h_i), "preprocessing": preprocessing}
    return PromptRequest("cxr-context", ({"role": "user", "content": content},), tuple(images), "prose",
                         options=options)


def _maira2_images(
    study: Study, masks: Mapping[str, Any] | None, conditioning: str, max_images: int, preprocessing: str
) -> list[tuple[str, ModelImage]]:
    named = [("the current frontal image",
              _radiograph(study.primary, "frontal", masks, conditioning, preprocessing))]
    if study.lateral is not None and len(named) < max_images:
        named.append(("the current lateral image",
                      _radiograph(study.lateral, "lateral", None, "none", preprocessing)))
    if study.prior is not None and len(named) < max_images:
        named.append(("the prior frontal image",
                      _radiograph(study.prior.primary, "prior frontal", None, "none", preprocessing)))
    return named


def _image_phrase(named: list[tuple[str, ModelImage]]) -> list[dict[str, str]]:
    """``_construct_image_chat_messages_for_reporting``: "Given the current frontal image" <img>
    " the current lateral image" <img> " and the prior frontal image" <img> ("… image only" when alone)."""
    if len(named) == 1:
        return [_text("Given the current frontal image only"), IMAGE]
    content: list[dict[str, str]] = []
    for n, (name, _) in enumerate(named):
        lead = "Given " if n == 0 else (" and " if n == len(named) - 1 else " ")
        content += [_text(f"{lead}{name}"), IMAGE]
    return content


def _section(text: str | None) -> str:
    """``_get_section_text_or_missing_text``: the text, or ``N/A`` when missing or empty."""
    return " ".join(text.split()) if isinstance(text, str) and text.strip() else MAIRA2_MISSING


def cxr_grounded(
    study: Study, masks: Mapping[str, Any] | None = None, *, conditioning: str = "none", max_images: int = 3,
    preprocessing: str = "maira2",
) -> PromptRequest:
    """MAIRA-2 grounded reporting prompt (boxes on the current frontal image); no system message."""
    named = _maira2_images(study, masks, conditioning, max_images, preprocessing)
    content = _image_phrase(named)
    if any(name == "the prior frontal image" for name, _ in named):
        content.append(_text(f" PRIOR_REPORT: {_section(study.prior_report)}"))
    content.append(_text(
        f" {MAIRA2_GROUNDED} INDICATION: {_section(study.indication)} TECHNIQUE: {MAIRA2_MISSING} "
        f"COMPARISON: {MAIRA2_MISSING}"
    ))
    return PromptRequest("cxr-grounded", ({"role": "user", "content": content},),
                         tuple(img for _, img in named), "maira2", options={"preprocessing": preprocessing})


def reg2rg_order(regions: Iterable[str]) -> list[str]:
    """``regions`` in Reg2RG's own order (:data:`REG2RG_ORDER`); names it does not know go last."""
    wanted = list(dict.fromkeys(regions))
    return [r for r in REG2RG_ORDER if r in wanted] + [r for r in wanted if r not in REG2RG_ORDER]


def ct_region(
    study: Study,
    region: str | Sequence[str],
    masks: Mapping[str, Any],
    *,
    n_slices: int = 4,
    conditioning: str = "none",
    max_images: int = 2,
    tile: int = 256,
) -> PromptRequest:
    """Reg2RG prompt: global montage (when it fits) + one masked montage per region, "The region i is"
    numbered from 0 in :func:`reg2rg_order`, then the instruction verbatim."""
    arrays = _arrays(masks)
    names = [region] if isinstance(region, str) else reg2rg_order(region)
    for name in names:
        if name not in arrays:
            raise ValueError(f"no mask for region {name!r}; have {', '.join(sorted(arrays)) or 'none'}")
    # Text items carry upstream's exact spacing, so concatenating them verbatim (image → its tokens)
    # gives text_add_image_tokens(text_add_region_tokens(instruction)).
    content: list[dict[str, str]] = []
    images: list[ModelImage] = []
    if max_images >= len(names) + 1:
        images.append(
            image_prep.ct_region(study.primary, None, label="ct global", n_slices=n_slices, tile=tile)
        )
        content += [_text("The global information is provided as the context: "), IMAGE]
    for i, name in enumerate(names):
        images.append(image_prep.ct_region(
            study.primary, arrays[name], label=f"ct region {name}", n_slices=n_slices, masks=arrays,
            conditioning=conditioning, target=name, tile=tile,
        ))
        content += [_text(f"{'. ' if content else ''}The region {i} is "), IMAGE]
    content.append(_text(f". {REG2RG_INSTRUCTION}"))
    return PromptRequest(
        "ct-region",
        ({"role": "user", "content": content},),
        tuple(images),
        "reg2rg",
        region=names[0] if len(names) == 1 else None,
        attention_image=len(images) - 1,
        regions=tuple(names),
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
    preprocessing: str | None = None,
) -> list[PromptRequest]:
    """All requests for one draft: one for CXR; for CT one prompt with every masked region when the model
    takes that many images (Reg2RG's way), else one per region.

    ``preprocessing`` (``pad``/``crop``/``maira2``) defaults to ``maira2`` for ``cxr-grounded`` and ``pad``
    otherwise.
    """
    prep = preprocessing or ("maira2" if mode == "cxr-grounded" else "pad")
    if mode == "cxr-plain":
        return [cxr_plain(study, masks, conditioning=conditioning, preprocessing=prep)]
    if mode == "cxr-context":
        return [cxr_context(study, masks, conditioning=conditioning, max_images=max_images,
                            preprocessing=prep)]
    if mode == "cxr-grounded":
        return [cxr_grounded(study, masks, conditioning=conditioning, max_images=max_images,
                             preprocessing=prep)]
    if mode == "ct-global":
        return [ct_global(study, n_slices=n_slices)]
    unknown = sorted(set(regions or ()) - set(CT_REGIONS))
    if unknown:
        raise ValueError(f"unknown CT region(s) {', '.join(unknown)}; choose from {', '.join(CT_REGIONS)}")
    wanted = regions or CT_REGIONS
    present = [r for r in wanted if r in masks and np.asarray(getattr(masks[r], "mask", masks[r])).any()]
    if not present:  # no segmentation (or none of the asked regions): report on the whole volume
        return [ct_global(study, n_slices=n_slices)]
    if max_images >= len(present) + 1:
        return [ct_region(study, present, masks, n_slices=n_slices, conditioning=conditioning,
                          max_images=max_images)]
    return [
        ct_region(study, r, masks, n_slices=n_slices, conditioning=conditioning, max_images=max_images)
        for r in reg2rg_order(present)
    ]
