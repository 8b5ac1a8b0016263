"""``hf``: any transformers image-text-to-text model from a local folder or the HF cache.

One :class:`HFGenerator` loads its model once (lazily, on the first draft), builds the prompts of
:mod:`inference.prompts` (LLaVA-Rad / LLM-RG4 / MAIRA-2 for CXR, Reg2RG region-guided for CT), streams
the generated text to the progress callback token by token, parses the answer with the grammar's
parser, and attaches a per-phrase attention heat map (``Grounding.attention_ref``) when attention
maps are on. Loading rules (offline, quantization, eager attention) are in
:mod:`inference.model_loading`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference import attention as attn
from inference import prompts
from inference.artefacts import content_ref
from inference.generators import _common
from inference.model_loading import (
    LoadedModel,
    ModelSetupError,
    check_quantization,
    load_model,
    resolve_model,
)
from inference.protocols import Progress, emit_stage, emit_text
from inference.records import Draft, Finding, Provenance
from viewer.records import Study

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
GROUNDING_TOKENS = ("<obj>", "</obj>", "<box>", "</box>")


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings, recorded in provenance."""

    max_new_tokens: int = 256
    do_sample: bool = False
    temperature: float = 1.0
    num_beams: int = 1
    seed: int = 0

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``model.generate``."""
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": self.do_sample,
            "num_beams": self.num_beams,
        }
        if self.do_sample:
            kwargs["temperature"] = self.temperature
        return kwargs


@dataclass(frozen=True, eq=False)
class Generation:
    """The raw result of one request.

    Attributes:
        text: Decoded new tokens (special tokens skipped).
        token_ids: The new token ids.
        offsets: Character span of each new token in ``text``.
        attention: ``(steps, layers, heads, n_image_tokens)`` or ``None`` when maps are off.
        prompt: The rendered prompt string.
        n_images: Images in the prompt (image tokens split equally among them).
    """

    text: str
    token_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    attention: np.ndarray | None
    prompt: str
    n_images: int
    seconds: float = 0.0
    extras: Mapping[str, Any] = field(default_factory=dict)


class ChunkStreamer:
    """A ``generate`` streamer sending each new piece of decoded text to a callback, in the caller's thread.

    The first ``put`` (the prompt) is skipped. Text is decoded cumulatively and only the stable new
    suffix is sent (nothing while the text ends in an incomplete character), so the chunks
    concatenate to the final decoded text. Deterministic: no thread, no queue.
    """

    def __init__(self, decode: Any, on_text: Any) -> None:
        self._decode = decode
        self._on_text = on_text
        self._ids: list[int] = []
        self._sent = ""
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        """Receive the prompt (ignored) or the next generated token(s)."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._ids.extend(int(v) for v in value.reshape(-1).tolist())
        self._flush(final=False)

    def end(self) -> None:
        """Send whatever text is left."""
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        text = self._decode(self._ids)
        if (not final and text.endswith("\ufffd")) or not text.startswith(self._sent):
            return
        if len(text) > len(self._sent):
            self._on_text(text[len(self._sent) :])
            self._sent = text


# Output-grammar tokens kept when decoding even where a tokenizer registers them as special:
# VividMed's MMMMTokenizer adds <p>, </p> with special_tokens=True (function2-llx/MMMM@c3c9caa,
# mmmm/tokenizer.py) and decodes with special tokens kept (scripts/evaluate/models/mmmm.py).
KEEP_TOKENS = (*GROUNDING_TOKENS, "<p>", "</p>")


def _decoder(processor: Any) -> Any:
    """``ids → text`` dropping special tokens (BOS, EOS, image, pad …) but keeping :data:`KEEP_TOKENS`."""
    tokenizer = getattr(processor, "tokenizer", processor)
    vocab = tokenizer.get_vocab()
    kept = {vocab[t] for t in KEEP_TOKENS if t in vocab}
    drop = set(getattr(tokenizer, "all_special_ids", ())) - kept

    def decode(ids: Sequence[int]) -> str:
        return str(tokenizer.decode([i for i in ids if i not in drop], skip_special_tokens=False))

    return decode


def _image_token_id(loaded: LoadedModel) -> int | None:
    config = loaded.model.config
    for name in ("image_token_id", "image_token_index"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    value = getattr(loaded.processor, "image_token_id", None)
    return value if isinstance(value, int) else None


def run_request(
    loaded: LoadedModel,
    request: prompts.PromptRequest,
    params: GenerationParams,
    *,
    attention_maps: bool,
    progress: Progress | None = None,
) -> Generation:
    """Render, tokenize and generate one request, streaming text to ``progress``.

    Raises:
        ModelSetupError: Attention maps asked for but the model has no image token id.
    """
    import torch

    prompt = prompts.render(request, loaded.processor)
    inputs = loaded.processor(
        images=[img.to_pil() for img in request.images], text=prompt, return_tensors="pt"
    )
    inputs = inputs.to(loaded.model.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
    decode = _decoder(loaded.processor)
    streamer = None
    if progress is not None and params.num_beams == 1:
        streamer = ChunkStreamer(decode, lambda chunk: emit_text(progress, chunk, request.region))
    torch.manual_seed(params.seed)
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(
            **inputs,
            **params.generate_kwargs(),
            streamer=streamer,
            output_attentions=attention_maps,
            return_dict_in_generate=True,
        )
    seconds = time.perf_counter() - start
    prompt_len = inputs["input_ids"].shape[1]
    new_ids = [int(t) for t in out.sequences[0, prompt_len:].tolist()]
    text = decode(new_ids)
    if progress is not None and streamer is None:
        emit_text(progress, text, request.region)
    att, skipped = _attention(loaded, inputs["input_ids"][0], out) if attention_maps else (None, None)
    offsets = tuple(attn.token_offsets(decode, new_ids))
    extras = {"attention_skipped": skipped} if skipped else {}
    return Generation(text, tuple(new_ids), offsets, att, prompt, len(request.images), seconds, extras)


def _attention(loaded: LoadedModel, input_ids: Any, out: Any) -> tuple[np.ndarray | None, str | None]:
    """(attention to the image tokens, None) or (None, why heat maps are unavailable for this model).

    Raises:
        ModelSetupError: The prompt holds no image token: the image never reached the model.
    """
    token_id = _image_token_id(loaded)
    if token_id is None:
        return None, "the model config has no image_token_id, so the image-token columns are unknown"
    positions = attn.image_token_positions(input_ids, token_id)
    if positions.size == 0:
        raise ModelSetupError(
            f"the prompt holds no image token (id {token_id}); the processor did not expand "
            "the image placeholder — check the model's processor files"
        )
    return attn.step_attentions(out.attentions, positions), None


def _image_of(request: prompts.PromptRequest, region: str) -> int | None:
    """For a several-region Reg2RG prompt, the index of ``region``'s image (its images come last, in
    ``request.regions`` order); ``None`` = the request's ``attention_image``."""
    if len(request.regions) < 2 or region not in request.regions:
        return None
    return len(request.images) - len(request.regions) + request.regions.index(region)


class HFGenerator:
    """Draft reports with a transformers vision-language model.

    Args:
        model: Local checkpoint folder or a cached hub id.
        quantization: ``none``, ``8bit`` or ``4bit`` (8/4-bit need CUDA and the ``gpu`` extra).
        device: ``auto``, ``cpu`` or ``cuda[:n]``.
        mode: Prompt mode (:data:`inference.prompts.MODES`); ``auto`` picks by study and model.
        conditioning: Mask conditioning of the images: ``none``, ``overlay`` or ``channels``.
        attention_maps: Compute per-phrase heat maps (loads the model with eager attention).
        attention_view: ``mean_heads`` (at ``attention_layer``) or ``max_layers``.
        attention_layer: Layer for ``mean_heads``.
        max_new_tokens, do_sample, temperature, num_beams, seed: Decoding (see :class:`GenerationParams`).
        max_images: Images per prompt; ``None`` = 3 for known multi-image models, else 1.
        grounding: Use the MAIRA-2 grounded prompt; ``None`` = when the tokenizer has ``<obj>``/``<box>``.
        n_slices: CT slices per region montage.
        regions: CT regions to prompt for (default: every masked region of DESIGN §4).
        grammar: Parse answers with this grammar (``prose``, ``maira2``, ``reg2rg``, ``vividmed``)
            instead of the prompt mode's.
        preprocessing: How radiographs are made square: ``pad``, ``crop`` (LLaVA-Rad) or ``maira2``
            (min-max + crop); default ``maira2`` for ``cxr-grounded``, else ``pad``.
        trust_remote_code: Allow checkpoint-supplied model code (opt-in).
        allow_download: Allow the hub client to download missing files (default off).
    """

    name = "hf"

    def __init__(
        self,
        model: str,
        quantization: str = "none",
        *,
        device: str = "auto",
        mode: str = "auto",
        conditioning: str = "none",
        attention_maps: bool = True,
        attention_view: str = "mean_heads",
        attention_layer: int = -1,
        max_new_tokens: int = 256,
        do_sample: bool = False,
        temperature: float = 1.0,
        num_beams: int = 1,
        seed: int = 0,
        max_images: int | None = None,
        grounding: bool | None = None,
        n_slices: int = 4,
        regions: Sequence[str] | None = None,
        trust_remote_code: bool = False,
        allow_download: bool = False,
        grammar: str | None = None,
        preprocessing: str | None = None,
    ) -> None:
        if not model:
            raise ModelSetupError("the hf generator needs --model (a checkpoint folder or a cached hub id)")
        check_quantization(quantization)
        for value, allowed, what in (
            (mode, prompts.MODES, "prompt mode"),
            (conditioning, ("none", "overlay", "channels"), "mask conditioning"),
            (attention_view, attn.VIEWS, "attention view"),
        ):
            if value not in allowed:
                raise ModelSetupError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
        self.model_id, self.quantization, self.device = model, quantization, device
        self.mode, self.conditioning = mode, conditioning
        self.attention_maps, self.attention_view, self.attention_layer = (
            attention_maps,
            attention_view,
            attention_layer,
        )
        self.params = GenerationParams(max_new_tokens, do_sample, temperature, num_beams, seed)
        if attention_maps and num_beams > 1:
            raise ModelSetupError(
                "attention maps need num_beams=1 (beam search reorders hypotheses between "
                "steps); turn attention maps off or use greedy/sampled decoding"
            )
        self.max_images, self.grounding, self.n_slices = max_images, grounding, n_slices
        self.regions = tuple(regions) if regions else None
        self.trust_remote_code, self.allow_download = trust_remote_code, allow_download
        if grammar is not None and grammar not in _common.GRAMMARS:
            raise ModelSetupError(
                f"unknown output grammar {grammar!r}; choose one of {', '.join(_common.GRAMMARS)}"
            )
        self.grammar = grammar
        if preprocessing is not None and preprocessing not in prompts.PREPROCESSING:
            raise ModelSetupError(
                f"unknown preprocessing {preprocessing!r}; choose one of {', '.join(prompts.PREPROCESSING)}"
            )
        self.preprocessing = preprocessing
        self._resolved = resolve_model(model, allow_download=allow_download)  # fail fast, before any study
        self._loaded: LoadedModel | None = None

    def load(self) -> LoadedModel:
        """Resolve and load the model once; later calls return the loaded one."""
        if self._loaded is None:
            self._loaded = load_model(
                self._resolved,
                quantization=self.quantization,
                device=self.device,
                attention_maps=self.attention_maps,
                trust_remote_code=self.trust_remote_code,
                allow_download=self.allow_download,
            )
        return self._loaded

    def capabilities(self, loaded: LoadedModel) -> tuple[bool, int]:
        """(grounding, max_images) for this model, user settings first."""
        tokenizer = getattr(loaded.processor, "tokenizer", loaded.processor)
        vocab = tokenizer.get_vocab()
        grounding = (
            self.grounding if self.grounding is not None else all(t in vocab for t in GROUNDING_TOKENS)
        )
        model_type = getattr(loaded.model.config, "model_type", "")
        max_images = self.max_images or (3 if model_type in MULTI_IMAGE_MODEL_TYPES else 1)
        return grounding, max_images

    def generate(self, study: Study, masks: Mapping[str, Any], *, progress: Progress | None = None) -> Draft:
        """Write a draft for ``study`` (one request for CXR, one per region for CT)."""
        start = time.perf_counter()
        emit_stage(progress, f"loading model {self.model_id}")
        loaded = self.load()
        latency = {"load": time.perf_counter() - start}
        grounding, max_images = self.capabilities(loaded)
        mode = prompts.choose_mode(study, self.mode, grounding=grounding, max_images=max_images)
        requests = prompts.build_requests(
            study,
            masks,
            mode,
            conditioning=self.conditioning,
            max_images=max_images,
            n_slices=self.n_slices,
            regions=self.regions,
            preprocessing=self.preprocessing,
        )
        findings: list[Finding] = []
        artefacts: dict[str, np.ndarray] = {}
        impression: list[str] = []
        generations = []
        for request in requests:
            emit_stage(progress, f"generating {request.region or 'report'}", request.region)
            gen = run_request(
                loaded, request, self.params, attention_maps=self.attention_maps, progress=progress
            )
            generations.append(gen)
            t0 = time.perf_counter()
            parsed, imp = _common.parse_generation(request, gen.text, study, self.grammar)
            findings += self._ground(parsed, request, gen, masks, artefacts)
            impression += [imp] if imp else []
            latency["ground"] = latency.get("ground", 0.0) + time.perf_counter() - t0
        latency["generate"] = sum(g.seconds for g in generations)
        notes = {k: v for g in generations for k, v in g.extras.items()}
        notes = {**notes, **_common.input_notes(requests)}
        provenance = self._provenance(loaded, study, mode, [g.prompt for g in generations], notes)
        return Draft(
            case_id=study.case_id,
            sections=_common.sections(study.kind, findings),
            impression=" ".join(impression) or None,
            provenance=provenance,
            latency_s=latency,
            artefacts=artefacts,
        )

    def _ground(
        self,
        findings: Sequence[Finding],
        request: prompts.PromptRequest,
        gen: Generation,
        masks: Mapping[str, Any],
        artefacts: dict[str, np.ndarray],
    ) -> list[Finding]:
        """Attach a heat map (and, for CT regions, the region mask) to every phrase."""
        out, cursor = [], 0
        for finding in findings:
            mask_ref = _common.region_mask_ref(request, masks, artefacts, finding.region)
            new_phrases = []
            for phrase in _common.whole_phrases(finding):
                span = attn.locate(gen.text, [phrase.text], cursor)[0]
                if span is not None:
                    cursor = span[0]
                heat_ref = self._heat(gen, request, span, artefacts, _image_of(request, finding.region))
                new_phrases.append(_common.with_refs(phrase, heat_ref, mask_ref))
            out.append(dataclasses.replace(finding, phrases=tuple(new_phrases)))
        return out

    def _heat(
        self,
        gen: Generation,
        request: prompts.PromptRequest,
        span: tuple[int, int] | None,
        artefacts: dict[str, np.ndarray],
        image: int | None = None,
    ) -> str | None:
        if gen.attention is None or span is None:
            return None
        tokens = attn.tokens_for_span(gen.offsets, span)
        if not tokens:
            return None
        heat = attn.phrase_heat_map(
            gen.attention,
            tokens,
            request.images[request.attention_image if image is None else image],
            n_images=gen.n_images,
            image_index=request.attention_image if image is None else image,
            view=self.attention_view,
            layer=self.attention_layer,
        )
        ref = content_ref(heat)
        artefacts[ref] = heat
        return ref

    def _provenance(
        self, loaded: LoadedModel, study: Study, mode: str, prompt_texts: list[str], notes: Mapping[str, Any]
    ) -> Provenance:
        params = {
            **dataclasses.asdict(self.params),
            "mode": mode,
            "conditioning": self.conditioning,
            "attention_maps": self.attention_maps,
            "attention_view": self.attention_view,
            "attention_layer": self.attention_layer,
            "dtype": loaded.dtype,
            **notes,
        }
        return Provenance(
            generator=self.name,
            model_id=self.model_id,
            model_revision=loaded.revision,
            quantization=self.quantization,  # type: ignore[arg-type]  # validated by check_quantization
            device=loaded.device,
            prompts=tuple(prompt_texts),
            generation_params=params,
            seed=self.params.seed,
            input_sha256s=study.input_sha256s,
            package_version=_common.package_version(),
            label=f"{self.model_id} (hf, {self.quantization}{_common.context_label(notes)})",
        )
