"""``hf``: any transformers image-text-to-text model from a local folder or the HF cache.

One :class:`HFGenerator` loads its model once (lazily, on the first draft) and plugs into the
pipeline of :mod:`inference.generators.pipeline`: prompts of :mod:`inference.prompts` (LLaVA-Rad /
LLM-RG4 / MAIRA-2 for CXR, Reg2RG region-guided for CT), generation streamed to the progress callback
token by token (:func:`~inference.generators.hf_run.run_request`) or batched
(:func:`~inference.generators.hf_run.run_batch`), the grammar's parser, and a per-phrase attention
heat map (``Grounding.attention_ref``) when attention maps are on. Loading rules (offline,
quantization, eager attention) are in :mod:`inference.model_loading`; the options in
:class:`~inference.generators.options.HFOptions`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from inference import attention as attn
from inference import prompts
from inference.artefacts import content_ref
from inference.generators import _common
from inference.generators.hf_run import GROUNDING_TOKENS, run_batch, run_request
from inference.generators.options import HFOptions
from inference.generators.pipeline import Artefacts, GeneratorPipeline, Masks, ModelOutput, Request, RunRecord
from inference.model_loading import LoadedModel, load_model, resolve_model
from inference.protocols import Progress
from inference.records import Finding, Phrase

# Model types trained with several images per prompt (others get one image: LLaVA-1.5 family).
MULTI_IMAGE_MODEL_TYPES = frozenset(
    {
        "maira2",
        "qwen2_vl",
        "qwen2_5_vl",
        "idefics2",
        "idefics3",
        "mllama",
        "llava_onevision",
        "gemma3",
        "smolvlm",
        "chexagent",
    }
)


def image_of(request: prompts.PromptRequest, region: str) -> int | None:
    """For a several-region Reg2RG prompt, the index of ``region``'s image (its images come last, in
    ``request.regions`` order); ``None`` = the request's ``attention_image``."""
    if len(request.regions) < 2 or region not in request.regions:
        return None
    return len(request.images) - len(request.regions) + request.regions.index(region)


class HFGenerator(GeneratorPipeline[HFOptions, LoadedModel]):
    """Draft reports with a transformers vision-language model.

    Args:
        model: Local checkpoint folder or a cached hub id.
        options: Everything else (:class:`~inference.generators.options.HFOptions`).
        **keywords: Flat overrides of ``options`` fields by name (``quantization="4bit"``,
            ``max_new_tokens=64``…), as the registry, the CLI and the model adapters pass them.

    Raises:
        ModelSetupError: No model, an unknown option or value, or a model that cannot be found.
    """

    name = "hf"
    model_hint = "a checkpoint folder or a cached hub id"

    def __init__(self, model: str, options: HFOptions | None = None, **keywords: Any) -> None:
        super().__init__(model, options or HFOptions(), keywords)
        # fail fast, before any study
        self._resolved = resolve_model(model, allow_download=self.options.allow_download)
        self._loaded: LoadedModel | None = None

    def load(self) -> LoadedModel:
        """Resolve and load the model once; later calls return the loaded one."""
        if self._loaded is None:
            self._loaded = load_model(
                self._resolved,
                quantization=self.quantization,
                device=self.options.device,
                attention_maps=self.options.attention_maps,
                trust_remote_code=self.options.trust_remote_code,
                allow_download=self.options.allow_download,
            )
        return self._loaded

    def capabilities(self, handle: LoadedModel) -> tuple[bool, int]:
        """(grounding, max_images): user settings, else from the tokenizer and the model type."""
        tokenizer = getattr(handle.processor, "tokenizer", handle.processor)
        vocab = tokenizer.get_vocab()
        grounding = self.prompting.grounding
        if grounding is None:
            grounding = all(t in vocab for t in GROUNDING_TOKENS)
        model_type = getattr(handle.model.config, "model_type", "")
        max_images = self.prompting.max_images or (3 if model_type in MULTI_IMAGE_MODEL_TYPES else 1)
        return grounding, max_images

    def call(
        self, handle: LoadedModel, request: prompts.PromptRequest, progress: Progress | None
    ) -> ModelOutput:
        """One ``model.generate`` (text streamed to ``progress``)."""
        return run_request(
            handle, request, self.decoding, attention_maps=self.options.attention_maps, progress=progress
        )

    def call_many(
        self, handle: LoadedModel, requests: Sequence[prompts.PromptRequest]
    ) -> list[ModelOutput | Exception]:
        """One batched ``model.generate``; when it raises, each prompt alone, so a failure finds its study."""
        try:
            maps = self.options.attention_maps
            return list(run_batch(handle, requests, self.decoding, attention_maps=maps))
        except Exception as exc:
            if len(requests) == 1:
                return [exc]
        return super().call_many(handle, requests)

    def run_record(self, handle: LoadedModel) -> RunRecord:
        """The device, dtype and attention settings the model ran with."""
        opts = self.options
        return RunRecord(
            device=handle.device,
            label=f"hf, {self.quantization}",
            revision=handle.revision,
            params={
                "attention_maps": opts.attention_maps,
                "attention_view": opts.attention_view,
                "attention_layer": opts.attention_layer,
                "dtype": handle.dtype,
            },
        )

    def ground(
        self, findings: Sequence[Finding], request: Request, output: ModelOutput, masks: Masks,
        artefacts: Artefacts,
    ) -> list[Finding]:
        """Attach a heat map (and, for CT regions, the region mask) to every phrase."""
        out, cursor = [], 0
        for finding in findings:
            mask_ref = _common.region_mask_ref(request, masks, artefacts, finding.region)
            new_phrases: list[Phrase] = []
            for phrase in _common.whole_phrases(finding):
                span = attn.locate(output.text, [phrase.text], cursor)[0]
                if span is not None:
                    cursor = span[0]
                heat_ref = self._heat(output, request, span, artefacts, image_of(request, finding.region))
                new_phrases.append(_common.with_refs(phrase, heat_ref, mask_ref))
            out.append(dataclasses.replace(finding, phrases=tuple(new_phrases)))
        return out

    def _heat(
        self,
        output: ModelOutput,
        request: prompts.PromptRequest,
        span: tuple[int, int] | None,
        artefacts: dict[str, np.ndarray],
        image: int | None = None,
    ) -> str | None:
        if output.attention is None or span is None:
            return None
        tokens = attn.tokens_for_span(output.offsets, span)
        if not tokens:
            return None
        index = request.attention_image if image is None else image
        heat = attn.phrase_heat_map(
            output.attention,
            tokens,
            request.images[index],
            n_images=output.n_images,
            image_index=index,
            view=self.options.attention_view,
            layer=self.options.attention_layer,
        )
        ref = content_ref(heat)
        artefacts[ref] = heat
        return ref
