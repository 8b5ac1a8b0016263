"""The 4-bit tiny LLaVA of the ``gpu`` tests (``test_gpu``, ``test_batch``): built, loaded on CUDA with
attention maps, and what its attention maps must look like."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from inference.model_loading import LoadedModel, load_model, resolve_model
from inference.tiny import QUANTIZABLE, save_tiny_llava

if TYPE_CHECKING:
    from inference.generators.pipeline import ModelOutput


def load_4bit(directory: Path) -> LoadedModel:
    """:data:`~inference.tiny.QUANTIZABLE` (hidden 128: 4-bit needs layers ≥ 64 wide) saved under
    ``directory`` and loaded in 4 bit on CUDA with attention maps."""
    path = save_tiny_llava(directory, QUANTIZABLE)
    return load_model(resolve_model(str(path)), quantization="4bit", device="cuda", attention_maps=True)


def assert_attention_maps(gen: ModelOutput) -> None:
    """One finite map per new token, layer, head and image token."""
    assert gen.attention is not None
    assert gen.attention.shape == (
        len(gen.token_ids),
        QUANTIZABLE.text_layers,
        QUANTIZABLE.text_heads,
        QUANTIZABLE.image_tokens,
    )
    assert np.isfinite(gen.attention).all()
