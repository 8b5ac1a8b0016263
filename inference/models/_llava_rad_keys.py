"""LLaVA-Rad → Llava state-dict mapping: LoRA merge, projector and language keys, timm ViT → ``ViTModel``.

The key tables and the rules behind them are described in :mod:`inference.models._llava_rad_convert`,
which assembles the converted checkpoint from these pieces.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

_LAYER = re.compile(r"^blocks\.(\d+)\.(.+)$")
_VISION_SIMPLE = {
    "norm1.weight": "layernorm_before.weight",
    "norm1.bias": "layernorm_before.bias",
    "norm2.weight": "layernorm_after.weight",
    "norm2.bias": "layernorm_after.bias",
    "attn.proj.weight": "attention.o_proj.weight",
    "attn.proj.bias": "attention.o_proj.bias",
    "mlp.fc1.weight": "mlp.fc1.weight",
    "mlp.fc1.bias": "mlp.fc1.bias",
    "mlp.fc2.weight": "mlp.fc2.weight",
    "mlp.fc2.bias": "mlp.fc2.bias",
}


# Source keys that are read on purpose and not converted, with why (checked by name, nothing else is dropped).
IGNORED: dict[str, str] = {
    r"^logit_scale$": "CLIP contrastive temperature; LLaVA-Rad uses only the image trunk",
    r"^text\.": "BiomedCLIP's PubMedBERT text tower; LLaVA-Rad uses only the image trunk",
    r"^visual\.head\.": "open_clip's image projection head (timm_proj); LLaVA-Rad reads trunk hidden states",
    r"^(?:visual\.trunk\.)?head\.(?:weight|bias)$": "timm classifier head (num_classes=0 in BiomedCLIP)",
    r"^(?:visual\.trunk\.)?fc_norm\.": "timm pooled-feature norm; not on the hidden_states[-2] path",
    r"\.rotary_emb\.inv_freq$": "Llama rotary frequencies, recomputed from config.json",
}


class ConversionError(ValueError):
    """The source folder is not a LLaVA-Rad release as expected; the message names the file and key."""



def load_state(path: Path) -> dict[str, Any]:
    """A state dict from a folder (``*.safetensors`` or ``*.bin`` shards) or one weight file."""
    import torch
    from safetensors.torch import load_file

    files = [path] if path.is_file() else sorted(path.glob("*.safetensors"))
    if path.is_dir() and not files:
        files = sorted(f for f in path.glob("*.bin") if f.name != "non_lora_trainables.bin")
    if not files:
        raise ConversionError(f"{path}: no *.safetensors or *.bin weights found")
    state: dict[str, Any] = {}
    for f in files:
        part = load_file(str(f)) if f.suffix == ".safetensors" else torch.load(f, map_location="cpu")
        state.update(part.get("state_dict", part) if isinstance(part, dict) else part)
    return state


def _strip(key: str) -> str:
    for prefix in ("base_model.model.", "module."):
        key = key.removeprefix(prefix)
    return key


def _adapter_file(src: Path) -> Path:
    for name in ("adapter_model.safetensors", "adapter_model.bin"):
        if (src / name).is_file():
            return src / name
    raise ConversionError(f"{src}: no adapter_model.safetensors or adapter_model.bin (the LoRA weights)")


def lora_scale(cfg: dict[str, Any]) -> float:
    """``lora_alpha / r`` (``/ sqrt(r)`` with ``use_rslora``), refusing per-module rank/alpha patterns."""
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        raise ConversionError(
            "adapter_config.json uses rank_pattern/alpha_pattern, which this converter does not merge"
        )
    r, alpha = int(cfg["r"]), float(cfg["lora_alpha"])
    return alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r


def merge_lora(base: dict[str, Any], src: Path) -> tuple[int, float]:
    """Add every LoRA delta of ``src`` into ``base`` in place; returns (modules merged, scale)."""
    cfg = json.loads((src / "adapter_config.json").read_text())
    scale = lora_scale(cfg)
    lora = {_strip(k): v for k, v in load_state(_adapter_file(src)).items()}
    pairs = {k.split(".lora_A.")[0] for k in lora if ".lora_A." in k}
    other = sorted(k for k in lora if ".lora_A." not in k and ".lora_B." not in k)
    if other:
        raise ConversionError(
            f"{src}: adapter keys that are not LoRA A/B pairs (modules_to_save, DoRA magnitudes, "
            f"embedding LoRA…) are not merged by this converter: {other[:5]}"
        )
    for module in sorted(pairs):
        a = next(v for k, v in lora.items() if k.startswith(module + ".lora_A."))
        b = next((v for k, v in lora.items() if k.startswith(module + ".lora_B.")), None)
        target = module + ".weight"
        if b is None or target not in base:
            raise ConversionError(f"{src}: LoRA module {module!r} has no lora_B or no base weight {target!r}")
        delta = b.float() @ a.float() * scale
        delta = delta.T if cfg.get("fan_in_fan_out") else delta
        base[target] = (base[target].float() + delta).to(base[target].dtype)
    return len(pairs), scale


def map_non_lora(src: Path) -> dict[str, Any]:
    """``non_lora_trainables.bin`` → Llava keys (projector; embeddings/lm_head when they were trained)."""
    import torch

    path = src / "non_lora_trainables.bin"
    if not path.is_file():
        raise ConversionError(f"{src}: no non_lora_trainables.bin (the mm_projector weights)")
    out = {}
    for key, value in torch.load(path, map_location="cpu").items():
        key = _strip(key)
        key = key.removeprefix("model.") if key.startswith("model.model.") else key
        if key.startswith("model.mm_projector."):
            idx, rest = key.removeprefix("model.mm_projector.").split(".", 1)
            linear = {"0": "linear_1", "2": "linear_2"}.get(idx)
            if linear is None:
                raise ConversionError(f"{path}: projector layer {key!r} is not an mlp2x_gelu layer (0 or 2)")
            out[f"model.multi_modal_projector.{linear}.{rest}"] = value
        elif key.startswith("model.vision_tower."):
            raise ConversionError(
                f"{path}: {key!r} is a vision-tower weight; LLaVA-Rad freezes its tower, so this converter "
                "takes the tower only from --vision and would otherwise drop a trained one"
            )
        else:
            out[language_key(key)] = value
    return out


def language_key(key: str) -> str:
    """A Llama key (``model.layers.0…``, ``lm_head.weight``) → its Llava key."""
    return key if key.startswith("lm_head.") else "model.language_model." + key.removeprefix("model.")


def ignored_reason(key: str) -> str | None:
    """Why ``key`` is deliberately not converted (see :data:`IGNORED`), or ``None``."""
    return next((why for pattern, why in IGNORED.items() if re.search(pattern, key)), None)


def _trunk(state: dict[str, Any]) -> dict[str, Any]:
    state = {_strip(k): v for k, v in state.items()}
    keys = [k for k in state if k.startswith("visual.trunk.")]
    if keys:
        stray = sorted(k for k in state if k not in keys and ignored_reason(k) is None)
        if stray:
            raise ConversionError(
                f"vision weights: keys outside visual.trunk.* that nothing maps: {stray[:5]}"
            )
        return {k.removeprefix("visual.trunk."): state[k] for k in keys}
    if "patch_embed.proj.weight" in state:
        return dict(state)
    raise ConversionError(
        "vision weights hold neither visual.trunk.* (open_clip) nor patch_embed.* (timm) keys"
    )


_TOP_LEVEL = {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
              "norm.weight", "norm.bias"}
_LAYER_SCALE = {"ls1.gamma": "attn.proj", "ls2.gamma": "mlp.fc2"}


def _fold_layer_scale(t: dict[str, Any]) -> dict[str, Any]:
    """Fold ``blocks.N.ls1/ls2.gamma`` into ``attn.proj``/``mlp.fc2`` (exact; see module doc)."""
    out = {k: v for k, v in t.items() if not k.endswith((".ls1.gamma", ".ls2.gamma"))}
    for key, gamma in t.items():
        match = _LAYER.match(key)
        if not match or match[2] not in _LAYER_SCALE:
            continue
        target = f"blocks.{match[1]}.{_LAYER_SCALE[match[2]]}"
        if target + ".weight" not in t:
            raise ConversionError(f"vision weights: {key} has no {target}.weight to fold into")
        g = gamma.reshape(-1).to(t[target + ".weight"].dtype)
        out[target + ".weight"] = t[target + ".weight"] * g[:, None]
        if target + ".bias" in t:
            out[target + ".bias"] = t[target + ".bias"] * g
    return out


def _check_trunk_keys(t: dict[str, Any]) -> None:
    """Every trunk key must be one :func:`map_vision` maps (or an ignored one); else name it."""
    unknown = []
    for key in t:
        match = _LAYER.match(key)
        rest = match[2] if match else None
        known = key in _TOP_LEVEL or (rest is not None and (rest in _VISION_SIMPLE or rest.startswith(
            "attn.qkv.")))
        if not known and ignored_reason(key) is None:
            unknown.append(key)
    if unknown:
        raise ConversionError(
            f"vision weights: {len(unknown)} key(s) have no ViTModel counterpart and would be lost: "
            f"{', '.join(sorted(unknown)[:6])} (a QK-norm, register tokens or other timm extras are not "
            "supported; LayerScale ls1/ls2.gamma is folded)"
        )


def map_vision(state: dict[str, Any]) -> dict[str, Any]:
    """A BiomedCLIP/timm ViT state dict → ``model.vision_tower.*`` ``ViTModel`` keys (exact, see module doc).

    Raises:
        ConversionError: The trunk has a ``norm_pre`` (ViTModel has no pre-norm).
    """
    import torch

    t = _trunk(state)
    if "norm_pre.weight" in t:
        raise ConversionError(
            "the vision trunk has norm_pre (a CLIP-style pre-norm); only timm ViTs without it map exactly"
        )
    t = _fold_layer_scale(t)
    _check_trunk_keys(t)
    dim = t["cls_token"].shape[-1]
    out = {
        "embeddings.cls_token": t["cls_token"],
        "embeddings.position_embeddings": t["pos_embed"],
        "embeddings.patch_embeddings.projection.weight": t["patch_embed.proj.weight"],
        "embeddings.patch_embeddings.projection.bias": t.get("patch_embed.proj.bias", torch.zeros(dim)),
        "layernorm.weight": t.get("norm.weight", torch.ones(dim)),
        "layernorm.bias": t.get("norm.bias", torch.zeros(dim)),
        "pooler.dense.weight": torch.eye(dim),
        "pooler.dense.bias": torch.zeros(dim),
    }
    for key, value in t.items():
        match = _LAYER.match(key)
        if not match:
            continue
        layer, rest = f"layers.{match[1]}.", match[2]
        if rest.startswith("attn.qkv."):
            kind = rest.rsplit(".", 1)[1]
            for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0), strict=True):
                out[f"{layer}attention.{name}.{kind}"] = part.clone()
        elif rest in _VISION_SIMPLE:
            out[layer + _VISION_SIMPLE[rest]] = value
    return {"model.vision_tower." + k: v for k, v in out.items()}


def vision_shape(state: dict[str, Any]) -> dict[str, int]:
    """Hidden size, layers, MLP size, patch and image size read off the timm weights."""
    t = _trunk(state)
    dim, patch = t["cls_token"].shape[-1], t["patch_embed.proj.weight"].shape[-1]
    grid = math.isqrt(t["pos_embed"].shape[1] - 1)
    layers = 1 + max(int(m[1]) for k in t if (m := _LAYER.match(k)))
    return {
        "hidden_size": dim,
        "num_hidden_layers": layers,
        "intermediate_size": t["blocks.0.mlp.fc1.weight"].shape[0],
        "patch_size": patch,
        "image_size": grid * patch,
        "num_attention_heads": max(1, dim // 64),
    }
