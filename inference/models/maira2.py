"""``maira2``: MAIRA-2 (Bannur et al. 2024; ``microsoft/maira-2``), grounded CXR reporting.

Frontal, lateral, prior frontal, indication and prior report go into MAIRA-2's grounded prompt
(``cxr-grounded``: one user message, no system message, upstream's spacing; technique and comparison
``N/A``); images get the processor's min-max normalisation and centre crop; up to 450 new tokens (the
model card's grounded-reporting example); answers ``<obj>phrase<box>…</box></obj>`` are parsed by the
``maira2`` parser and boxes mapped back with ``adjust_box_for_original_image_size``. The checkpoint
ships its own model code, so loading needs ``trust_remote_code``.
"""

from __future__ import annotations

from inference.generators.options import GenerationParams, HFOptions, PromptOptions
from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter

ADAPTER = ModelAdapter(
    name="maira2",
    description="MAIRA-2 7B grounded CXR report (boxes per finding), frontal + lateral + prior",
    needs=("transformers", "torch"),
    inputs=frozenset({"frontal", "lateral", "prior", "indication"}),
    params_billion=6.88,  # Vicuna-7B 6.74 B + Rad-DINO ViT-B 0.09 B + projector
    hub_ids=("microsoft/maira-2",),
    local_names=("maira-2",),
    install_hint="pip install 'radreview[gpu]'; MAIRA-2's remote code pins transformers (see its model card)",
    factory=hf_factory(HFOptions(
        trust_remote_code=True,
        prompting=PromptOptions(
            mode="cxr-grounded", grammar="maira2", max_images=3, grounding=True, preprocessing="maira2"),
        decoding=GenerationParams(max_new_tokens=450),
    )),
    notes=("needs trust_remote_code (checkpoint-supplied code)",),
)
