"""Model resolution and loading rules: offline by default, clear errors, no silent quantization fallback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inference import model_loading as ml
from inference.tiny import save_tiny_llava

NO_CUDA = pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the message shown on machines without CUDA"
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llava(tmp_path_factory.mktemp("tiny") / "llava")


def test_local_directory_resolves_without_revision(tiny_dir: Path) -> None:
    resolved = ml.resolve_model(str(tiny_dir))
    assert resolved.location == tiny_dir.resolve() and resolved.revision is None
    assert resolved.model_id == str(tiny_dir)


def test_snapshot_directory_gives_the_commit_as_revision(tiny_dir: Path, tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    snap = tmp_path / "models--org--tiny" / "snapshots" / commit
    shutil.copytree(tiny_dir, snap)
    assert ml.resolve_model(str(snap)).revision == commit


def test_cached_hub_id_resolves_to_its_snapshot_offline(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    commit = "89abcdef0123456789abcdef0123456789abcdef"
    repo = tmp_path / "hub" / "models--radreview-test--tiny"
    shutil.copytree(tiny_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    resolved = ml.resolve_model("radreview-test/tiny", cache_dir=tmp_path / "hub")
    assert resolved.revision == commit and resolved.model_id == "radreview-test/tiny"
    assert resolved.location == repo / "snapshots" / commit


def test_missing_directory_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ml.ModelSetupError, match=r"model directory .*nope does not exist"):
        ml.resolve_model(str(tmp_path / "nope"))


def test_directory_without_weights_says_how_to_provide_them(tiny_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "noweights"
    empty.mkdir()
    shutil.copy(tiny_dir / "config.json", empty / "config.json")
    with pytest.raises(ml.ModelSetupError, match=r"noweights has no weights .*hf download"):
        ml.resolve_model(str(empty))


def test_uncached_hub_id_is_not_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ml.ModelSetupError, match=r"'radreview-test/absent' is not a local directory and not in the"
    ):
        ml.resolve_model("radreview-test/absent", allow_download=True)


@NO_CUDA
@pytest.mark.parametrize("quantization", ["4bit", "8bit"])
def test_quantization_without_cuda_is_a_clear_error(quantization: str) -> None:
    bits = quantization[0]
    expected = f"{bits}-bit quantization needs a CUDA GPU; this machine has none — use --quantization none"
    with pytest.raises(ml.ModelSetupError) as info:
        ml.check_quantization(quantization)
    assert str(info.value) == expected
    assert info.value.exit_code == 2


@NO_CUDA
def test_hf_generator_refuses_4bit_on_cpu_before_loading(tiny_dir: Path) -> None:
    from inference.generators.hf import HFGenerator

    with pytest.raises(ml.ModelSetupError, match="4-bit quantization needs a CUDA GPU"):
        HFGenerator(str(tiny_dir), quantization="4bit")


def test_unknown_quantization_lists_the_choices() -> None:
    with pytest.raises(ml.ModelSetupError, match="choose one of none, 8bit, 4bit"):
        ml.check_quantization("2bit")


def test_bnb_config_is_nf4_double_quant_bf16() -> None:
    import torch

    cfg = ml.bnb_config("4bit")
    assert cfg.load_in_4bit and cfg.bnb_4bit_quant_type == "nf4" and cfg.bnb_4bit_use_double_quant
    assert cfg.bnb_4bit_compute_dtype == torch.bfloat16
    assert ml.bnb_config("8bit").load_in_8bit and ml.bnb_config("none") is None


def test_load_uses_eager_attention_when_maps_are_wanted(tiny_dir: Path) -> None:
    resolved = ml.resolve_model(str(tiny_dir))
    with_maps = ml.load_model(resolved, device="cpu", attention_maps=True)
    assert with_maps.model.config._attn_implementation == "eager"
    assert with_maps.device == "cpu" and with_maps.dtype == "float32"
    assert type(with_maps.model).__name__ == "LlavaForConditionalGeneration"


@NO_CUDA
def test_explicit_cuda_without_gpu_is_refused() -> None:
    with pytest.raises(ml.ModelSetupError, match="no CUDA GPU"):
        ml.resolve_device("cuda")


def test_offline_flag_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert not ml.offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert ml.offline()


def test_other_architectures_need_the_trust_remote_code_opt_in(tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    from inference.tiny import build_tokenizer

    text_only = tmp_path / "llama"
    LlamaForCausalLM(
        LlamaConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4, vocab_size=300
        )
    ).save_pretrained(text_only)
    build_tokenizer().save_pretrained(text_only)
    resolved = ml.resolve_model(str(text_only))
    with pytest.raises(
        ml.ModelSetupError, match=r"tried AutoModelForImageTextToText: .*opt in with trust_remote_code"
    ):
        ml.load_model(resolved, device="cpu")
    fallback = ml.load_model(resolved, device="cpu", trust_remote_code=True)  # AutoModelForCausalLM
    assert type(fallback.model).__name__ == "LlamaForCausalLM"
