"""Convert LLaVA-Rad's released layout into a transformers ``LlavaForConditionalGeneration`` checkpoint.

The release (github.com/microsoft/LLaVA-Rad, ``llava/model/builder.py``) is a Vicuna-7B base, a PEFT
LoRA adapter (``adapter_config.json`` + ``adapter_model.{safetensors,bin}``), ``non_lora_trainables.bin``
holding the projector (``model.mm_projector.{0,2}``, ``mlp2x_gelu``) and a BiomedCLIP-CXR vision tower
(an open_clip ``TimmModel`` ViT, ``visual.trunk.*``) whose features are ``hidden_states[select_layer]``
without the CLS token. The conversion is exact:

* LoRA merge: ``W += (B @ A) * lora_alpha / r`` (``/ sqrt(r)`` with ``use_rslora``; transposed with
  ``fan_in_fan_out``), for every ``lora_A``/``lora_B`` pair.
* Projector: ``model.mm_projector.0/2`` → ``model.multi_modal_projector.linear_1/2``.
* Language model: ``model.*`` → ``model.language_model.*``; ``lm_head`` kept.
* Vision (timm ViT → transformers ``ViTModel`` as the Llava vision tower — not ``CLIPVisionModel``,
  whose ``pre_layrnorm`` cannot express timm's absent ``norm_pre``): ``qkv`` split into q/k/v;
  ``attn.proj`` → ``o_proj``; ``norm1/2`` → ``layernorm_before/after``; patch bias, CLS and position
  embeddings kept; GELU (exact) and ``eps = 1e-6`` as in timm. ``hidden_states[-2]`` without CLS is
  what LLaVA-Rad feeds the projector (``mm_vision_select_layer=-2``, ``select_feature='patch'``).
  The unused ViT pooler is written as identity/zero.
* LayerScale (``blocks.N.ls1.gamma``/``ls2.gamma``, as in DINOv2-initialised timm ViTs): ``ViTModel``
  has no LayerScale, but ``x + γ ⊙ (W h + b)`` equals ``x + (diag(γ) W) h + γ ⊙ b``, so ``ls1`` is folded
  exactly into ``attn.proj`` and ``ls2`` into ``mlp.fc2``.
* Every source key is accounted for: mapped, folded, or on :data:`IGNORED` (documented reasons);
  anything else is a :class:`ConversionError` naming the key (a QK-norm, register tokens or a
  ``norm_pre`` cannot be expressed by ``ViTModel`` and are refused by name).
* Tokenizer: ``<image>`` is added (LLaVA splices image features at a sentinel id instead); its new
  embedding and ``lm_head`` rows are the mean of the existing rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from inference.models._llava_rad_keys import (
    IGNORED,
    ConversionError,
    ignored_reason,
    language_key,
    load_state,
    lora_scale,
    map_non_lora,
    map_vision,
    merge_lora,
    vision_shape,
)

__all__ = ["IGNORED", "IMAGE_TOKEN", "ConversionError", "ConversionReport", "convert", "ignored_reason",
           "is_released_layout", "language_key", "load_state", "lora_scale", "map_non_lora", "map_vision",
           "merge_lora", "vision_shape"]

IMAGE_TOKEN = "<image>"


@dataclass
class ConversionReport:
    """What :func:`convert` did, for the CLI and for provenance."""

    out: Path
    merged_lora_modules: int
    lora_scale: float
    vision: str
    image_token_id: int
    notes: list[str] = field(default_factory=list)


def is_released_layout(path: str | Path) -> bool:
    """True when ``path`` holds a LoRA release (``non_lora_trainables.bin`` or ``adapter_config.json``)."""
    p = Path(path)
    return (p / "non_lora_trainables.bin").is_file() or (p / "adapter_config.json").is_file()


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConversionError(f"{path} is missing")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _tokenizer(src: Path, base: Path) -> Any:
    from transformers import AutoTokenizer

    folder = src if (src / "tokenizer_config.json").is_file() else base
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token
    return tokenizer


def _resize(state: dict[str, Any], vocab: int) -> None:
    """Grow embed_tokens/lm_head to ``vocab`` rows, new rows = mean of the old ones."""
    import torch

    for key in ("model.language_model.embed_tokens.weight", "lm_head.weight"):
        w = state[key]
        if w.shape[0] < vocab:
            extra = w.float().mean(0, keepdim=True).expand(vocab - w.shape[0], -1).to(w.dtype)
            state[key] = torch.cat([w, extra])


def _random_vision(config: Any, seed: int) -> dict[str, Any]:
    import torch
    from transformers import ViTModel

    torch.manual_seed(seed)
    model = ViTModel(config)
    return {"model.vision_tower." + k: v for k, v in model.state_dict().items()}


def _config(src_cfg: dict[str, Any], base: Path, vshape: dict[str, int], vocab: int, image_id: int) -> Any:
    from transformers import LlamaConfig, LlavaConfig, ViTConfig

    text = LlamaConfig.from_pretrained(str(base))
    text.vocab_size = vocab
    sizes: dict[str, Any] = dict(vshape)
    vision = ViTConfig(**sizes, hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=True)
    if src_cfg.get("mm_use_im_start_end"):
        raise ConversionError(
            "mm_use_im_start_end=True checkpoints are not supported (LLaVA-Rad does not use them)"
        )
    feature = src_cfg.get("mm_vision_select_feature", "patch")
    if feature not in ("patch", "cls_patch"):
        raise ConversionError(f"config.json: mm_vision_select_feature {feature!r} is not patch or cls_patch")
    strategy: Literal["default", "full"] = "full" if feature == "cls_patch" else "default"
    grid = vshape["image_size"] // vshape["patch_size"]
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_id,
        projector_hidden_act="gelu",
        vision_feature_layer=int(src_cfg.get("mm_vision_select_layer", -2)),
        vision_feature_select_strategy=strategy,
        image_seq_length=grid * grid if strategy == "default" else grid * grid + 1,
    )


def _processor(tokenizer: Any, vshape: dict[str, int], vision_json: dict[str, Any], strategy: str) -> Any:
    from transformers import CLIPImageProcessor, LlavaProcessor

    pre = vision_json.get("preprocess_cfg", {})
    size = vshape["image_size"]
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": size},
        crop_size={"height": size, "width": size},
        image_mean=pre.get("mean", [0.48145466, 0.4578275, 0.40821073]),
        image_std=pre.get("std", [0.26862954, 0.26130258, 0.27577711]),
    )
    return LlavaProcessor(  # type: ignore[no-untyped-call]
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=vshape["patch_size"],
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=1,
    )


def _check_keys(config: Any, state: dict[str, Any]) -> None:
    import torch
    from transformers import LlavaForConditionalGeneration

    with torch.device("meta"):
        expected = LlavaForConditionalGeneration(config).state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or extra or wrong:
        raise ConversionError(
            f"converted weights do not fit LlavaForConditionalGeneration: missing {missing[:5]}, "
            f"unexpected {extra[:5]}, wrong shape {wrong[:5]}"
        )


def convert(
    src: str | Path,
    out: str | Path,
    *,
    base: str | Path,
    vision: str | Path | None = None,
    vision_config: str | Path | None = None,
    random_vision: bool = False,
    dtype: str = "float16",
    seed: int = 0,
) -> ConversionReport:
    """Write a transformers Llava checkpoint to ``out`` from a LLaVA-Rad release in ``src``.

    Args:
        src: Folder with ``config.json``, ``adapter_config.json``, ``adapter_model.*`` and
            ``non_lora_trainables.bin`` (``microsoft/llava-rad``).
        out: Output folder (config, ``model*.safetensors``, tokenizer, processor).
        base: The Vicuna-7B v1.5 folder (``lmsys/vicuna-7b-v1.5``).
        vision: BiomedCLIP-CXR weights (``biomedclipcxr_518.pt``, open_clip or timm keys).
        vision_config: Its open_clip JSON (``biomedclipcxr_518.json``) for mean/std.
        random_vision: No vision weights: a random ViT tower (benchmarks only; reports are noise).
        dtype: Saved dtype (``float16`` as released, ``bfloat16`` or ``float32``).
        seed: Seed of the random tower.

    Raises:
        ConversionError: A file or key is missing or does not fit.
    """
    import torch
    from huggingface_hub import save_torch_state_dict

    src, out, base = Path(src), Path(out), Path(base)
    src_cfg = _read_json(src / "config.json")
    state = {language_key(k): v for k, v in load_state(base).items() if ignored_reason(k) is None}
    state = {**state, **map_non_lora(src)}
    n_merged, scale = _merge_language(state, src)
    tokenizer = _tokenizer(src, base)
    _resize(state, len(tokenizer))
    vision_state, vshape, vision_note = _vision(vision, random_vision, src_cfg, state)
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    config = _config(src_cfg, base, vshape, len(tokenizer), image_id)
    if vision_state is None:
        vision_state = _random_vision(config.vision_config, seed)
    state.update(vision_state)
    _check_keys(config, state)
    torch_dtype = getattr(torch, dtype)
    state = {k: v.to(torch_dtype).contiguous() for k, v in state.items()}
    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(out)
    save_torch_state_dict(state, str(out))
    vjson = json.loads(Path(vision_config).read_text()) if vision_config else {}
    _processor(tokenizer, vshape, vjson, config.vision_feature_select_strategy).save_pretrained(out)
    _generation_config(out, tokenizer)
    return ConversionReport(out, n_merged, scale, vision_note, image_id)


def _merge_language(state: dict[str, Any], src: Path) -> tuple[int, float]:
    """Merge LoRA into the Llava-keyed language weights (PEFT keys are Llama keys)."""
    llama = {
        _llama_key(k): v for k, v in state.items() if k.startswith(("model.language_model.", "lm_head."))
    }
    n, scale = merge_lora(llama, src)
    state.update({language_key(k): v for k, v in llama.items()})
    return n, scale


def _llama_key(key: str) -> str:
    prefix = "model.language_model."
    return "model." + key.removeprefix(prefix) if key.startswith(prefix) else key


def _vision(
    vision: str | Path | None, random_vision: bool, src_cfg: dict[str, Any], state: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, int], str]:
    if vision is not None:
        raw = load_state(Path(vision))
        return map_vision(raw), vision_shape(raw), f"BiomedCLIP weights from {vision}"
    if not random_vision:
        raise ConversionError(
            "no vision tower weights: pass --vision biomedclipcxr_518.pt (from microsoft/llava-rad) "
            "or --random-vision for a benchmark-only random tower"
        )
    hidden = int(src_cfg.get("mm_hidden_size", 768))
    in_dim = state["model.multi_modal_projector.linear_1.weight"].shape[1]
    if in_dim != hidden:
        raise ConversionError(f"projector input {in_dim} != mm_hidden_size {hidden} in config.json")
    shape = {
        "hidden_size": hidden,
        "num_hidden_layers": 12,
        "intermediate_size": 4 * hidden,
        "patch_size": 14,
        "image_size": 518,
        "num_attention_heads": max(1, hidden // 64),
    }
    return None, shape, "random ViT vision tower (benchmark only: reports are noise)"


def _generation_config(out: Path, tokenizer: Any) -> None:
    from transformers import GenerationConfig

    GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ).save_pretrained(out)
