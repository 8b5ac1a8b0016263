"""GPU-only: 4-bit and 8-bit loading of a randomly initialised 7B-shaped LLaVA (no download) and generation.

The 7B model (Vicuna-7B + CLIP ViT-L/336 shape, ~7.1 B parameters) is built on the GPU in bf16 from
its config, saved once to a temporary folder (~14 GB of disk) and loaded back through the real
``hf`` path with ``BitsAndBytesConfig``. Skipped (with the reason) on machines without CUDA.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import prompts
from inference.generators.hf_run import run_request
from inference.generators.options import GenerationParams
from inference.model_loading import load_model, resolve_model
from inference.tiny import LLAVA_7B, save_tiny_llava
from tests.images import make_image, random_pixels
from tests.inference.quantized import assert_attention_maps, load_4bit
from viewer.records import Study

pytestmark = pytest.mark.gpu

# Language-model weights at 7B shape: bf16 ≈ 13.5 GB, int8 ≈ 7 GB, nf4 ≈ 3.9 GB (+ bf16 vision tower,
# embeddings and lm_head, which bitsandbytes leaves unquantized).
MAX_FOOTPRINT_GB = {"8bit": 8.5, "4bit": 5.0}


def _study() -> Study:
    frontal = make_image(random_pixels(0, (256, 256)), source="random.png", sha256="9" * 64)
    return Study("gpu", "cxr", (frontal,), indication="cough")


@pytest.fixture(scope="module")
def llava_7b_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 7B-shaped model: ``$RADREVIEW_LLAVA7B_DIR`` when set (``tools/gpu_check.sh`` builds it once for
    the benchmark and these tests), else built here."""
    import os

    import torch

    if os.environ.get("RADREVIEW_LLAVA7B_DIR"):
        return Path(os.environ["RADREVIEW_LLAVA7B_DIR"])
    path = save_tiny_llava(
        tmp_path_factory.mktemp("llava7b") / "model", LLAVA_7B, device="cuda", dtype="bfloat16"
    )
    torch.cuda.empty_cache()
    return path


@pytest.mark.parametrize("quantization", ["4bit", "8bit"])
def test_7b_shaped_llava_loads_quantized_and_generates(llava_7b_dir: Path, quantization: str) -> None:
    import bitsandbytes as bnb
    import torch

    loaded = load_model(resolve_model(str(llava_7b_dir)), quantization=quantization, device="cuda")
    layer = loaded.model.model.language_model.layers[0].self_attn.q_proj
    expected = bnb.nn.Linear4bit if quantization == "4bit" else bnb.nn.Linear8bitLt
    assert isinstance(layer, expected)
    footprint_gb = loaded.model.get_memory_footprint() / 1e9
    assert footprint_gb < MAX_FOOTPRINT_GB[quantization]
    gen = run_request(
        loaded, prompts.cxr_plain(_study()), GenerationParams(max_new_tokens=8), attention_maps=False
    )
    assert 1 <= len(gen.token_ids) <= 8
    assert loaded.device == "cuda" and loaded.dtype == "bfloat16"
    del loaded
    torch.cuda.empty_cache()


def test_4bit_small_model_returns_attention_maps(tmp_path: Path) -> None:
    loaded = load_4bit(tmp_path / "q")
    gen = run_request(
        loaded, prompts.cxr_plain(_study()), GenerationParams(max_new_tokens=5), attention_maps=True
    )
    assert_attention_maps(gen)
