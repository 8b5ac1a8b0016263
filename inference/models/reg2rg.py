"""``reg2rg``: Reg2RG (Chen et al., IEEE TMI / MICCAI 2025; github.com/zhi-xuan-chen/Reg2RG), 3D CT.

All regions in one prompt, as upstream: a global context montage plus one montage per region cut with
*our* segmenter's mask (``ct-region``), "The region i" numbered from 0 in Reg2RG's region order,
Reg2RG's instruction verbatim, greedy decoding with 500 new tokens (``src/Model/Reg2RG.py``
``generate``), the answer ``The region i is <area>: …`` parsed into sections by the ``reg2rg`` parser.
Reg2RG reads 3D volumes through a ViT-3D; a 2D transformers model reads axial montages instead.

Two checkpoint layouts:

* a transformers image-text-to-text checkpoint (``config.json``) — runs on the ``hf`` path;
* Reg2RG's own release (Llama-2-7b-chat + LoRA + ViT-3D, ``Trusure/Reg2RG``) — needs its code, which
  is not on PyPI (``Model.Reg2RG`` from its ``src/`` folder). When the code is missing the error says
  exactly what to install; with the code installed, its own ``src/test_radgenome.py`` writes the result
  CSV that ``radreview ingest --drafts-format reg2rg`` imports (running it in-process is not wired).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inference.generators.options import GenerationParams, HFOptions, PromptOptions
from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter, native_release

_hf = hf_factory(HFOptions(
    prompting=PromptOptions(mode="ct-region", grammar="reg2rg", max_images=11),
    decoding=GenerationParams(max_new_tokens=500),
))
INSTALL = (
    "git clone https://github.com/zhi-xuan-chen/Reg2RG && pip install -r Reg2RG/requirements.txt peft "
    "&& export PYTHONPATH=$PWD/Reg2RG/src (module Model.Reg2RG); weights: Llama-2-7b-chat-hf "
    "(meta-llama/Llama-2-7b-chat-hf) and the Reg2RG checkpoints (huggingface.co/Trusure/Reg2RG) "
    "copied to $RADREVIEW_MODELS/reg2rg"
)


def build(model: str, **options: Any) -> Any:
    """``hf`` generator for a transformers checkpoint; Reg2RG's own layout needs its code.

    Raises:
        MissingExtraError: Native layout and ``Model.Reg2RG``/``peft`` not importable (exit 4).
        ModelSetupError: Native layout with the code installed (use its result CSV instead).
    """
    if (Path(model) / "config.json").is_file():
        return _hf(model, **options)
    raise native_release(
        ADAPTER,
        f"{model} is Reg2RG's own checkpoint layout; run its src/test_radgenome.py and import the CSV "
        "with `radreview ingest STUDIES --drafts RESULT.csv --drafts-format reg2rg`",
    )


ADAPTER = ModelAdapter(
    name="reg2rg",
    description="Reg2RG 7B region-guided CT report (all regions in one prompt, our masks)",
    needs=("Model.Reg2RG", "peft"),
    inputs=frozenset({"ct", "masks"}),
    params_billion=7.0,  # Llama-2-7b 6.74 B + ViT-3D and region encoders ~0.25 B
    hub_ids=("Trusure/Reg2RG",),
    local_names=("reg2rg",),
    weight_markers=("config.json", "pytorch_model.bin", "model.safetensors"),
    install_hint=INSTALL,
    factory=build,
)
