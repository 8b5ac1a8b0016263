"""``medgemma``: MedGemma (Google, 2025; ``google/medgemma-4b-it``), a native image-text-to-text model.

Runs through the generic ``hf`` path with the checkpoint's chat template (Gemma 3 architecture,
``Gemma3ForConditionalGeneration``); CXR context prompt with every available image, CT as montages,
answers parsed as prose.
"""

from __future__ import annotations

from inference.generators.options import HFOptions, PromptOptions
from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter

ADAPTER = ModelAdapter(
    name="medgemma",
    description="MedGemma 4B-it (Gemma 3, SigLIP), generic chat-template prompting, prose reports",
    needs=("transformers", "torch"),
    inputs=frozenset({"frontal", "lateral", "prior", "indication", "ct"}),
    params_billion=4.3,
    hub_ids=("google/medgemma-4b-it", "google/medgemma-4b-pt"),
    local_names=("medgemma-4b-it",),
    install_hint="pip install 'radreview[gpu]' (transformers with Gemma 3 support)",
    factory=hf_factory(HFOptions(prompting=PromptOptions(grammar="prose", max_images=3, grounding=False))),
)
