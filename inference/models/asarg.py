"""``asarg``: ASaRG-style mask-conditioned prompting (anatomy segmentation as extra model input).

Any LLaVA-family checkpoint fine-tuned with segmentation-conditioned images: the region masks of our
segmenters are drawn onto the model image (``conditioning="overlay"``, default) or stacked as channels
(``"channels"``) by :mod:`inference.prompts`, then the ``hf`` path generates and parses prose.
"""

from __future__ import annotations

from typing import Any

from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter

ADAPTER = ModelAdapter(
    name="asarg",
    description="ASaRG-style: segmentation masks overlaid on (or stacked with) the image as model input",
    needs=("transformers", "torch"),
    inputs=frozenset({"frontal", "indication", "masks", "ct"}),
    params_billion=7.0,  # a LLaVA-7B-class checkpoint; pass your own model
    hub_ids=(),
    local_names=("asarg",),
    install_hint="pip install 'radreview[gpu]'",
    factory=hf_factory(conditioning="overlay", grammar="prose", max_images=1, grounding=False),
)


def generator(**options: Any) -> Any:
    """The generator factory for ``inference.registry`` (``"inference.models.<module>:generator"``)."""
    return ADAPTER.build_generator(**options)
