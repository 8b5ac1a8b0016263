"""Running a transformers model on prompt requests: one at a time (streamed) or as a left-padded batch.

:func:`run_request` renders, tokenizes and generates one :class:`~inference.prompts.PromptRequest`;
:func:`run_batch` does several in one ``model.generate`` call with **left padding** (so every prompt
ends where generation starts) and the attention mask, cuts each row's new tokens at its first
end-of-sequence token (the rest is padding of finished rows) and reads each row's attention from its
batch index over its own image-token columns. Under greedy decoding a batched row equals the lone
request (tested on the tiny offline LLaVA). Both return
:class:`~inference.generators.pipeline.ModelOutput`; :class:`~inference.generators.hf.HFGenerator`
plugs them into the pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from inference import attention as attn
from inference import prompts
from inference.generators.options import GenerationParams
from inference.generators.pipeline import ModelOutput
from inference.model_loading import LoadedModel, ModelSetupError
from inference.protocols import Progress, emit_text

GROUNDING_TOKENS = ("<obj>", "</obj>", "<box>", "</box>")
# Output-grammar tokens kept when decoding even where a tokenizer registers them as special:
# VividMed's MMMMTokenizer adds <p>, </p> with special_tokens=True (function2-llx/MMMM@c3c9caa,
# mmmm/tokenizer.py) and decodes with special tokens kept (scripts/evaluate/models/mmmm.py).
KEEP_TOKENS = (*GROUNDING_TOKENS, "<p>", "</p>")

Decode = Callable[[Sequence[int]], str]


class ChunkStreamer:
    """A ``generate`` streamer sending each new piece of decoded text to a callback, in the caller's thread.

    The first ``put`` (the prompt) is skipped. Text is decoded cumulatively and only the stable new
    suffix is sent (nothing while the text ends in an incomplete character), so the chunks
    concatenate to the final decoded text. Deterministic: no thread, no queue.
    """

    def __init__(self, decode: Decode, on_text: Callable[[str], None]) -> None:
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


def decoder(processor: Any) -> Decode:
    """``ids → text`` dropping special tokens (BOS, EOS, image, pad …) but keeping :data:`KEEP_TOKENS`."""
    tokenizer = getattr(processor, "tokenizer", processor)
    vocab = tokenizer.get_vocab()
    kept = {vocab[t] for t in KEEP_TOKENS if t in vocab}
    drop = set(getattr(tokenizer, "all_special_ids", ())) - kept

    def decode(ids: Sequence[int]) -> str:
        return str(tokenizer.decode([i for i in ids if i not in drop], skip_special_tokens=False))

    return decode


def image_token_id(loaded: LoadedModel) -> int | None:
    """The id of the image placeholder token (model config first, then the processor), or None."""
    config = loaded.model.config
    for name in ("image_token_id", "image_token_index"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    value = getattr(loaded.processor, "image_token_id", None)
    return value if isinstance(value, int) else None


def image_attention(loaded: LoadedModel, input_ids: Any, out: Any) -> tuple[np.ndarray | None, str | None]:
    """(attention to the image tokens, None) or (None, why heat maps are unavailable for this model).

    Raises:
        ModelSetupError: The prompt holds no image token: the image never reached the model.
    """
    token_id = image_token_id(loaded)
    if token_id is None:
        return None, "the model config has no image_token_id, so the image-token columns are unknown"
    positions = attn.image_token_positions(input_ids, token_id)
    if positions.size == 0:
        raise ModelSetupError(
            f"the prompt holds no image token (id {token_id}); the processor did not expand "
            "the image placeholder — check the model's processor files"
        )
    return attn.step_attentions(out.attentions, positions), None


def _inputs(loaded: LoadedModel, texts: str | list[str], images: list[Any], **padding: Any) -> Any:
    """Tokenized prompts and pixel values on the model's device and dtype."""
    inputs = loaded.processor(images=images, text=texts, return_tensors="pt", **padding)
    inputs = inputs.to(loaded.model.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
    return inputs


def _generate(
    loaded: LoadedModel, inputs: Any, params: GenerationParams, maps: bool, streamer: Any
) -> tuple[Any, float]:
    """(``model.generate``'s output, its seconds), seeded and without gradients."""
    import torch

    torch.manual_seed(params.seed)
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(
            **inputs,
            **params.generate_kwargs(),
            streamer=streamer,
            output_attentions=maps,
            return_dict_in_generate=True,
        )
    return out, time.perf_counter() - start


def _output(
    loaded: LoadedModel, new_ids: list[int], prompt: str, request: prompts.PromptRequest, seconds: float,
    attention: tuple[np.ndarray | None, str | None],
) -> ModelOutput:
    decode = decoder(loaded.processor)
    att, skipped = attention
    return ModelOutput(
        text=decode(new_ids),
        prompt=prompt,
        seconds=seconds,
        token_ids=tuple(new_ids),
        offsets=tuple(attn.token_offsets(decode, new_ids)),
        attention=att,
        n_images=len(request.images),
        extras={"attention_skipped": skipped} if skipped else {},
    )


def run_request(
    loaded: LoadedModel,
    request: prompts.PromptRequest,
    params: GenerationParams,
    *,
    attention_maps: bool,
    progress: Progress | None = None,
) -> ModelOutput:
    """Render, tokenize and generate one request, streaming text to ``progress``.

    Raises:
        ModelSetupError: Attention maps asked for but the prompt holds no image token.
    """
    prompt = prompts.render(request, loaded.processor)
    inputs = _inputs(loaded, prompt, [img.to_pil() for img in request.images])
    streamer = None
    if progress is not None and params.num_beams == 1:
        streamer = ChunkStreamer(
            decoder(loaded.processor), lambda chunk: emit_text(progress, chunk, request.region)
        )
    out, seconds = _generate(loaded, inputs, params, attention_maps, streamer)
    new_ids = [int(t) for t in out.sequences[0, inputs["input_ids"].shape[1] :].tolist()]
    output = _output(loaded, new_ids, prompt, request, seconds,
                     image_attention(loaded, inputs["input_ids"][0], out) if attention_maps else (None, None))
    if progress is not None and streamer is None:
        emit_text(progress, output.text, request.region)
    return output


def run_batch(
    loaded: LoadedModel,
    requests: Sequence[prompts.PromptRequest],
    params: GenerationParams,
    *,
    attention_maps: bool,
) -> list[ModelOutput]:
    """Render, tokenize (left-padded) and generate several requests in one ``model.generate`` call.

    Every request must have the same number of images. Returns one output per request, each what
    :func:`run_request` would return for it alone under greedy decoding (``seconds`` is the batch's
    wall time divided by the batch size).

    Raises:
        ValueError: requests with different image counts, or none.
    """
    if not requests or len({len(r.images) for r in requests}) != 1:
        raise ValueError("a batch needs at least one request, all with the same number of images")
    texts = [prompts.render(r, loaded.processor) for r in requests]
    images = [img.to_pil() for r in requests for img in r.images]
    inputs = _inputs(loaded, texts, images, padding=True, padding_side="left")
    out, seconds = _generate(loaded, inputs, params, attention_maps, None)
    prompt_len, eos = inputs["input_ids"].shape[1], eos_ids(loaded)
    results = []
    for i, request in enumerate(requests):
        new_ids = cut_at_eos([int(t) for t in out.sequences[i, prompt_len:].tolist()], eos)
        att: tuple[np.ndarray | None, str | None] = (None, None)
        if attention_maps:
            att = image_attention(loaded, inputs["input_ids"][i], _Row(out, i, len(new_ids)))
        results.append(_output(loaded, new_ids, texts[i], request, seconds / len(requests), att))
    return results


def eos_ids(loaded: LoadedModel) -> set[int]:
    """The end-of-sequence token ids (generation config first, then the tokenizer)."""
    config = getattr(loaded.model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    if eos is None:
        eos = getattr(getattr(loaded.processor, "tokenizer", loaded.processor), "eos_token_id", None)
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, list | tuple) else [eos])}


def cut_at_eos(ids: list[int], eos: set[int]) -> list[int]:
    """New tokens up to and including the first end-of-sequence token (what a single run returns)."""
    for n, token in enumerate(ids):
        if token in eos:
            return ids[: n + 1]
    return ids


class _Row:
    """One batch row of a ``generate`` output, shaped as batch 0 (what ``step_attentions`` reads)."""

    def __init__(self, out: Any, index: int, steps: int) -> None:
        self.attentions = tuple(
            tuple(layer[index : index + 1] for layer in step) for step in out.attentions[:steps]
        )
