"""``llava-rad``: LLaVA-Rad (Zambrano Chaves et al., Nat. Commun. 2025; github.com/microsoft/LLaVA-Rad).

Vicuna-7B v1.5 + LoRA + ``mlp2x_gelu`` projector + BiomedCLIP-CXR ViT (518 px). The release is
converted once (``radreview convert llava-rad SRC OUT --base VICUNA --vision biomedclipcxr_518.pt``)
into a transformers Llava checkpoint that the ``hf`` generator loads (4-bit on a GPU). Prompt: one
frontal image and "Provide a description of the findings in the radiology image given the following
indication: …" in ``conv_vicuna_v1`` (:mod:`inference.prompts`, ``cxr-plain``); the image is centre-cropped
to its shorter side (open_clip's resize + centre crop, ``image_aspect_ratio`` unset = not ``pad``);
greedy decoding, 256 new tokens (``scripts/eval.sh``: ``--temperature 0``; ``model_mimic_cxr.py``:
``max_new_tokens=256``).
"""

from __future__ import annotations

from typing import Any

from inference.generators.options import GenerationParams, HFOptions, PromptOptions
from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter

_hf = hf_factory(HFOptions(
    prompting=PromptOptions(mode="cxr-plain", grammar="prose", max_images=1, grounding=False,
                            preprocessing="crop"),
    decoding=GenerationParams(max_new_tokens=256),
))


def build(model: str, **options: Any) -> Any:
    """An ``HFGenerator`` on a converted checkpoint; a released (LoRA) folder gets the convert command.

    Raises:
        ModelSetupError: ``model`` is the unconverted release.
    """
    from inference.model_loading import ModelSetupError
    from inference.models._llava_rad_convert import is_released_layout

    if is_released_layout(model):
        raise ModelSetupError(
            f"{model} is LLaVA-Rad's released LoRA layout; convert it once: radreview convert llava-rad "
            f"{model} OUT --base VICUNA_7B_V1.5_DIR --vision biomedclipcxr_518.pt, then use model=OUT"
        )
    return _hf(model, **options)


ADAPTER = ModelAdapter(
    name="llava-rad",
    description="LLaVA-Rad 7B (Vicuna + BiomedCLIP-CXR), CXR findings from a frontal image + indication",
    needs=("transformers", "torch", "safetensors"),
    inputs=frozenset({"frontal", "indication"}),
    params_billion=6.85,  # Vicuna-7B 6.74 B + ViT-B 0.09 B + projector 0.02 B
    hub_ids=("microsoft/llava-rad",),
    local_names=("llava-rad-hf", "llava_rad", "llavarad"),
    weight_markers=("config.json", "adapter_config.json"),
    install_hint="pip install 'radreview[gpu]' (torch, transformers; bitsandbytes for 4-bit)",
    factory=build,
    notes=(
        "released layout needs `radreview convert llava-rad` once",
        "image: centre crop to the shorter side, then the processor's resize (open_clip eval transform)",
    ),
)
