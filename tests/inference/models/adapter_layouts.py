"""Tiny random checkpoints in the released layouts of the seed models, written by the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tests.images import make_image
from tests.inference.models.upstream import GEMMA3_CHAT_TEMPLATE
from viewer.records import Study

R, ALPHA = 4, 8  # LoRA rank and alpha: scale 2.0
VISION_DIM, PATCH, GRID = 32, 8, 4  # 32 px images, 16 patches


def timm_vision_state(seed: int = 1, layers: int = 2, *, layer_scale: bool = False,
                      open_clip_extras: bool = False) -> dict[str, Any]:
    """A random timm ViT (open_clip ``visual.trunk.*`` keys) of width 32, patch 8, 32 px.

    ``layer_scale`` adds timm's ``blocks.N.ls1.gamma``/``ls2.gamma`` (``timm/models/vision_transformer.py``
    ``LayerScale``, as DINOv2-initialised ViTs have); ``open_clip_extras`` adds what a whole open_clip
    BiomedCLIP checkpoint also holds (``logit_scale``, ``visual.head.proj.weight``, ``text.*``).
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    d = VISION_DIM

    def rnd(*shape: int) -> Any:
        return torch.randn(*shape, generator=g) * 0.2

    t = {
        "cls_token": rnd(1, 1, d),
        "pos_embed": rnd(1, GRID * GRID + 1, d),
        "patch_embed.proj.weight": rnd(d, 3, PATCH, PATCH),
        "patch_embed.proj.bias": rnd(d),
        "norm.weight": 1 + rnd(d),
        "norm.bias": rnd(d),
    }
    for i in range(layers):
        b = f"blocks.{i}."
        t |= {
            b + "norm1.weight": 1 + rnd(d),
            b + "norm1.bias": rnd(d),
            b + "attn.qkv.weight": rnd(3 * d, d),
            b + "attn.qkv.bias": rnd(3 * d),
            b + "attn.proj.weight": rnd(d, d),
            b + "attn.proj.bias": rnd(d),
            b + "norm2.weight": 1 + rnd(d),
            b + "norm2.bias": rnd(d),
            b + "mlp.fc1.weight": rnd(2 * d, d),
            b + "mlp.fc1.bias": rnd(2 * d),
            b + "mlp.fc2.weight": rnd(d, 2 * d),
            b + "mlp.fc2.bias": rnd(d),
        }
        if layer_scale:
            t |= {b + "ls1.gamma": 1 + rnd(d), b + "ls2.gamma": 1 + rnd(d)}
    out = {"visual.trunk." + k: v for k, v in t.items()}
    if open_clip_extras:
        out |= {"logit_scale": torch.tensor(4.6), "visual.head.proj.weight": rnd(16, d),
                "text.transformer.embeddings.word_embeddings.weight": rnd(10, 16),
                "text.proj.0.weight": rnd(16, 16)}
    return out


def timm_hidden_states(state: dict[str, Any], pixels: Any) -> list[Any]:
    """timm's ViT forward written out (1 head, GELU, eps 1e-6): every block's input and the last output."""
    import torch
    import torch.nn.functional as F

    t = {k.removeprefix("visual.trunk."): v for k, v in state.items()}
    x = F.conv2d(pixels, t["patch_embed.proj.weight"], t["patch_embed.proj.bias"], stride=PATCH)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([t["cls_token"].expand(x.shape[0], -1, -1), x], dim=1) + t["pos_embed"]
    states = [x]
    i = 0
    while f"blocks.{i}.norm1.weight" in t:
        b = {k.removeprefix(f"blocks.{i}."): v for k, v in t.items() if k.startswith(f"blocks.{i}.")}
        h = F.layer_norm(x, (VISION_DIM,), b["norm1.weight"], b["norm1.bias"], eps=1e-6)
        q, k, v = F.linear(h, b["attn.qkv.weight"], b["attn.qkv.bias"]).chunk(3, dim=-1)
        att = torch.softmax(q @ k.transpose(1, 2) / VISION_DIM**0.5, dim=-1) @ v
        ls1, ls2 = b.get("ls1.gamma", 1.0), b.get("ls2.gamma", 1.0)  # timm LayerScale: x * gamma
        x = x + ls1 * F.linear(att, b["attn.proj.weight"], b["attn.proj.bias"])
        h = F.layer_norm(x, (VISION_DIM,), b["norm2.weight"], b["norm2.bias"], eps=1e-6)
        x = x + ls2 * F.linear(
            F.gelu(F.linear(h, b["mlp.fc1.weight"], b["mlp.fc1.bias"])),
            b["mlp.fc2.weight"],
            b["mlp.fc2.bias"],
        )
        states.append(x)
        i += 1
    return states


def save_llava_rad_release(root: Path, seed: int = 0) -> dict[str, Path]:
    """Write a tiny Vicuna-like base, a PEFT LoRA release and BiomedCLIP-like vision weights under ``root``.

    Returns:
        ``{"base": …, "src": …, "vision": …}``.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaForCausalLM

    from inference.tiny import TINY, build_config, build_tokenizer

    torch.manual_seed(seed)
    text_config = build_config(TINY).text_config
    base, src = root / "vicuna", root / "llava-rad"
    LlamaForCausalLM(text_config).save_pretrained(base)
    build_tokenizer().save_pretrained(base)
    src.mkdir(parents=True)
    hidden = text_config.hidden_size
    (src / "config.json").write_text(
        json.dumps(
            {
                "model_type": "llava",
                "mm_hidden_size": VISION_DIM,
                "mm_projector_type": "mlp2x_gelu",
                "mm_vision_select_layer": -2,
                "mm_vision_select_feature": "patch",
                "mm_use_im_start_end": False,
                "mm_vision_tower": "biomedclip_cxr_518",
            }
        )
    )
    (src / "adapter_config.json").write_text(
        json.dumps(
            {
                "peft_type": "LORA",
                "r": R,
                "lora_alpha": ALPHA,
                "target_modules": ["q_proj", "v_proj"],
                "fan_in_fan_out": False,
                "base_model_name_or_path": str(base),
            }
        )
    )
    kv = text_config.num_key_value_heads * (hidden // text_config.num_attention_heads)
    lora = {}
    for i in range(text_config.num_hidden_layers):
        for name, out in (("q_proj", hidden), ("v_proj", kv)):
            key = f"base_model.model.model.layers.{i}.self_attn.{name}"
            lora[f"{key}.lora_A.weight"] = torch.randn(R, hidden) * 0.1
            lora[f"{key}.lora_B.weight"] = torch.randn(out, R) * 0.1
    save_file(lora, str(src / "adapter_model.safetensors"))
    projector = {
        "base_model.model.model.mm_projector.0.weight": torch.randn(hidden, VISION_DIM) * 0.1,
        "base_model.model.model.mm_projector.0.bias": torch.randn(hidden) * 0.1,
        "base_model.model.model.mm_projector.2.weight": torch.randn(hidden, hidden) * 0.1,
        "base_model.model.model.mm_projector.2.bias": torch.randn(hidden) * 0.1,
    }
    torch.save(projector, src / "non_lora_trainables.bin")
    vision = root / "biomedclipcxr_tiny.pt"
    # the whole open_clip checkpoint as biomedclipcxr_518.pt holds it: trunk, head, text tower, logit_scale
    torch.save({"state_dict": timm_vision_state(open_clip_extras=True)}, vision)
    return {"base": base, "src": src, "vision": vision}


def cxr_study(pixels: np.ndarray, indication: str | None = "cough") -> Study:
    """A one-image frontal CXR study."""
    return Study("c1", "cxr", (make_image(pixels, source="PA", view="PA"),), indication=indication)


GEMMA3_SPECIALS = (
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<start_of_image>",
    "<image_soft_token>",
    "<end_of_image>",
    "<start_of_turn>",
    "<end_of_turn>",
)
GEMMA3_TEMPLATE = GEMMA3_CHAT_TEMPLATE  # the real Gemma 3 template (upstream.py), trims each text item


def _gemma3_processor() -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import Gemma3Processor, PreTrainedTokenizerFast
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    from inference.tiny import vocabulary

    words = [
        *GEMMA3_SPECIALS,
        *(w for w in vocabulary() if w not in ("<pad>", "<s>", "</s>", "<unk>", "<image>")),
    ]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.add_special_tokens(list(GEMMA3_SPECIALS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "image_token": "<image_soft_token>",
            "eoi_token": "<end_of_image>",
        },
    )
    image_processor = Gemma3ImageProcessorPil(size={"height": 32, "width": 32})
    return Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=GEMMA3_TEMPLATE,
        image_seq_length=4,
    )


def save_tiny_gemma3(directory: Path, seed: int = 0) -> Path:
    """A random MedGemma-architecture model (Gemma 3 text + SigLIP, 4 pooled image tokens) and processor."""
    import torch
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    processor = _gemma3_processor()
    ids = processor.tokenizer.convert_tokens_to_ids
    text = Gemma3TextConfig(
        vocab_size=len(processor.tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=16,
        pad_token_id=ids("<pad>"),
        eos_token_id=ids("<eos>"),
        bos_token_id=ids("<bos>"),
    )
    vision = SiglipVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    config = Gemma3Config(
        text_config=text,
        vision_config=vision,
        mm_tokens_per_image=4,
        boi_token_index=ids("<start_of_image>"),
        eoi_token_index=ids("<end_of_image>"),
        image_token_index=ids("<image_soft_token>"),
    )
    torch.manual_seed(seed)
    Gemma3ForConditionalGeneration(config).save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory
