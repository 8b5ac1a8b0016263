"""``vividmed``: VividMed (Luo et al. 2024), grounded phrases ``<p>…</p>`` in CXR and CT reports.

The language side runs on the ``hf`` path and its answer is parsed by the ``vividmed`` parser (each
``<p>`` phrase becomes a grounded phrase, assigned to a region by its words). The checkpoint's
promptable segmentation head (masks/boxes per ``<p>``) needs VividMed's own code and is not run:
phrases are grounded by attention maps and region assignment instead.
"""

from __future__ import annotations

from typing import Any

from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter

ADAPTER = ModelAdapter(
    name="vividmed",
    description="VividMed 7B-class grounded report with <p>phrase</p> tags (CXR or CT)",
    needs=("transformers", "torch"),
    inputs=frozenset({"frontal", "indication", "ct"}),
    params_billion=7.0,  # LLaVA-style 7B language model; the grounding head is not loaded
    hub_ids=(),
    local_names=("vividmed",),
    install_hint="pip install 'radreview[gpu]'",
    factory=hf_factory(grammar="vividmed", max_images=1, grounding=False),
    notes=("segmentation head (masks/boxes per <p>) not run; grounding via attention",),
)


def generator(**options: Any) -> Any:
    """The generator factory for ``inference.registry`` (``"inference.models.<module>:generator"``)."""
    return ADAPTER.build_generator(**options)
