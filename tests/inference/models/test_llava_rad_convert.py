"""LLaVA-Rad released layout → transformers Llava: exact weight mapping, then offline generation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inference.model_loading import ModelSetupError
from inference.models import _llava_rad_convert as conv
from inference.models.registry import get_adapter
from tests.inference.models.adapter_layouts import (
    ALPHA,
    R,
    cxr_study,
    save_llava_rad_release,
    timm_hidden_states,
    timm_vision_state,
)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("llavarad")
    paths = save_llava_rad_release(root)
    paths["out"] = root / "converted"
    conv.convert(paths["src"], paths["out"], base=paths["base"], vision=paths["vision"], dtype="float32")
    return paths


def _load(path: Path) -> dict:  # type: ignore[type-arg]
    return conv.load_state(path)


def test_merged_weights_are_base_plus_scaled_lora(converted: dict[str, Path]) -> None:
    import torch

    base, out = _load(converted["base"]), _load(converted["out"])
    lora = _load(converted["src"] / "adapter_model.safetensors")
    key = "base_model.model.model.layers.1.self_attn.v_proj"
    expected = base["model.layers.1.self_attn.v_proj.weight"] + (
        lora[key + ".lora_B.weight"] @ lora[key + ".lora_A.weight"]
    ) * (ALPHA / R)
    torch.testing.assert_close(out["model.language_model.layers.1.self_attn.v_proj.weight"], expected)
    # untouched modules are copied bit for bit
    assert torch.equal(
        out["model.language_model.layers.0.mlp.up_proj.weight"], base["model.layers.0.mlp.up_proj.weight"]
    )
    assert torch.equal(out["lm_head.weight"], base["lm_head.weight"])


def test_projector_keys_are_mapped(converted: dict[str, Path]) -> None:
    import torch

    out = _load(converted["out"])
    src = torch.load(converted["src"] / "non_lora_trainables.bin")
    assert torch.equal(
        out["model.multi_modal_projector.linear_1.weight"],
        src["base_model.model.model.mm_projector.0.weight"],
    )
    assert torch.equal(
        out["model.multi_modal_projector.linear_2.bias"], src["base_model.model.model.mm_projector.2.bias"]
    )


def test_vision_tower_reproduces_timm_hidden_states(converted: dict[str, Path]) -> None:
    """The ViT tower reproduces timm: qkv split, patch bias, no pre-norm, GELU, eps 1e-6."""
    import torch
    from transformers import LlavaForConditionalGeneration

    model: Any = LlavaForConditionalGeneration.from_pretrained(converted["out"])
    model.eval()
    pixels = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = model.model.vision_tower(pixels, output_hidden_states=True).hidden_states
    theirs = timm_hidden_states(timm_vision_state(), pixels)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert (
        model.config.vision_feature_layer == -2 and model.config.vision_feature_select_strategy == "default"
    )


def test_converted_checkpoint_generates_offline_through_the_adapter(
    converted: dict[str, Path], cxr_phantom: Any
) -> None:
    generator = get_adapter("llava-rad").build_generator(
        model=str(converted["out"]), device="cpu", attention_maps=True, max_new_tokens=6
    )
    study = cxr_study(cxr_phantom.pixels[::8, ::8])
    draft = generator.generate(study, {})
    prompt = draft.provenance.prompts[0]
    assert prompt.count("<image>") == 1
    assert (
        "Provide a description of the findings in the radiology image given the following indication: cough"
        in prompt
    )
    assert draft.provenance.generation_params["mode"] == "cxr-plain"
    assert draft.latency_s["model"] > 0


def test_released_layout_is_refused_with_the_convert_command(converted: dict[str, Path]) -> None:
    with pytest.raises(ModelSetupError, match="radreview convert llava-rad"):
        get_adapter("llava-rad").build_generator(model=str(converted["src"]))


def test_missing_vision_weights_say_what_to_pass(converted: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(conv.ConversionError, match=r"--vision biomedclipcxr_518\.pt"):
        conv.convert(converted["src"], tmp_path / "x", base=converted["base"])


def test_lora_scale_and_resize_rules() -> None:
    import torch

    assert conv.lora_scale({"r": 16, "lora_alpha": 32}) == 2.0
    assert conv.lora_scale({"r": 16, "lora_alpha": 32, "use_rslora": True}) == 8.0
    state = {
        "model.language_model.embed_tokens.weight": torch.tensor([[1.0, 2.0], [3.0, 6.0]]),
        "lm_head.weight": torch.tensor([[0.0, 0.0], [2.0, 4.0]]),
    }
    conv._resize(state, 3)
    assert state["model.language_model.embed_tokens.weight"][2].tolist() == [2.0, 4.0]
    assert state["lm_head.weight"][2].tolist() == [1.0, 2.0]
    assert (
        conv.language_key("model.layers.0.mlp.up_proj.weight")
        == "model.language_model.layers.0.mlp.up_proj.weight"
    )
    assert conv.language_key("lm_head.weight") == "lm_head.weight"


def test_convert_command_writes_a_checkpoint_and_reports_json(
    converted: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from app.cli import main

    out = tmp_path / "cli"
    argv = ["convert", "llava-rad", str(converted["src"]), str(out), "--base", str(converted["base"])]
    assert main([*argv, "--vision", str(converted["vision"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["merged_lora_modules"] == 4 and report["lora_scale"] == 2.0  # 2 layers x (q, v); 8 / 4
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert main(argv) == 2  # no --vision: a usage error naming the flag
    assert "--vision biomedclipcxr_518.pt" in capsys.readouterr().err


def test_random_vision_tower_for_benchmarks_has_biomedclip_cxr_geometry(
    converted: dict[str, Path], tmp_path: Path
) -> None:
    from transformers import AutoConfig

    report = conv.convert(
        converted["src"], tmp_path / "rand", base=converted["base"], random_vision=True, dtype="bfloat16"
    )
    config = AutoConfig.from_pretrained(tmp_path / "rand")
    assert "random ViT" in report.vision
    assert (config.vision_config.image_size, config.vision_config.patch_size) == (518, 14)
    assert config.image_seq_length == 37 * 37  # 518 / 14 = 37 patches per side, CLS dropped
    assert config.vision_config.hidden_size == 32  # mm_hidden_size of the release's config.json


def _vit_from(state: dict[str, Any]) -> Any:
    """A transformers ``ViTModel`` loaded from :func:`conv.map_vision` output (strict: no missing keys)."""
    from transformers import ViTConfig, ViTModel

    shape: dict[str, Any] = dict(conv.vision_shape(state))
    config = ViTConfig(**shape, hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=True)
    model: Any = ViTModel(config)
    model.eval()
    mapped = {k.removeprefix("model.vision_tower."): v for k, v in conv.map_vision(state).items()}
    model.load_state_dict(mapped, strict=True)
    return model


def test_layer_scale_is_folded_exactly_into_the_vit() -> None:
    """A DINOv2-style tower with LayerScale (timm ``blocks.N.ls1/ls2.gamma``, whole open_clip checkpoint
    layout: ``visual.trunk.*`` + ``visual.head`` + ``text.*`` + ``logit_scale``) converts with every hidden
    state equal to timm's forward *with* the gammas; dropping them would change every state after block 0."""
    import torch

    state = timm_vision_state(seed=5, layer_scale=True, open_clip_extras=True)
    model = _vit_from(state)
    pixels = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ours = model(pixels, output_hidden_states=True).hidden_states
    theirs = timm_hidden_states(state, pixels)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    no_gamma = {k: v for k, v in state.items() if not k.endswith("gamma")}
    assert not torch.allclose(timm_hidden_states(no_gamma, pixels)[1], theirs[1], atol=1e-3)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("visual.trunk.blocks.0.attn.q_norm.weight", "blocks.0.attn.q_norm.weight"),
        ("visual.trunk.reg_token", "reg_token"),
        ("visual.attnpool.weight", "visual.attnpool.weight"),
    ],
)
def test_unmapped_vision_keys_are_refused_by_name(extra: str, named: str) -> None:
    import torch

    state = timm_vision_state() | {extra: torch.zeros(32)}
    with pytest.raises(conv.ConversionError, match=named.replace(".", r"\.")):
        conv.map_vision(state)


def test_every_ignored_key_has_a_reason() -> None:
    assert conv.ignored_reason("logit_scale") and conv.ignored_reason("text.proj.0.weight")
    assert conv.ignored_reason("model.layers.0.self_attn.rotary_emb.inv_freq")
    assert conv.ignored_reason("visual.trunk.blocks.0.ls1.gamma") is None  # folded, not ignored


def test_non_lora_vision_tower_and_stray_adapter_keys_are_errors(tmp_path: Path) -> None:
    import json

    import torch
    from safetensors.torch import save_file

    torch.save({"base_model.model.model.vision_tower.vision_tower.blocks.0.norm1.weight": torch.ones(2)},
               tmp_path / "non_lora_trainables.bin")
    with pytest.raises(conv.ConversionError, match="vision-tower weight"):
        conv.map_non_lora(tmp_path)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 4}))
    save_file({"base_model.model.model.layers.0.mlp.up_proj.lora_A.weight": torch.ones(2, 4),
               "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight": torch.ones(4, 2),
               "base_model.model.model.embed_tokens.modules_to_save.weight": torch.ones(3, 4)},
              tmp_path / "adapter_model.safetensors")
    with pytest.raises(conv.ConversionError, match="modules_to_save"):
        conv.merge_lora({"model.layers.0.mlp.up_proj.weight": torch.zeros(4, 4)}, tmp_path)
