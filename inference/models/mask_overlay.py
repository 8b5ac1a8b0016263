"""``mask-overlay``: segmentation masks drawn onto (or stacked with) the image a VLM reads.

Any LLaVA-family checkpoint fine-tuned on segmentation-conditioned images: the region masks of our
segmenters are drawn onto the model image (``conditioning="overlay"``, default) or stacked as channels
(``"channels"``) by :mod:`inference.prompts`, then the ``hf`` path generates and parses prose.

This adapter was called ``asarg`` until issue 14. ASaRG (anatomical segmentation-guided report
generation) does something else: it feeds the anatomical masks (CXAS classes or superclasses) as
*separate inputs* through pooling/convolution into the projector, beside the features of the
unmodified image, with a trainable adapter — a model change, not an image edit. Nothing here implements
that, so the name ``asarg`` is refused with this explanation (:data:`ASARG_RENAMED`).
"""

from __future__ import annotations

from typing import Any

from inference.generators.options import HFOptions, PromptOptions
from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter

ASARG_RENAMED = (
    "the 'asarg' adapter is now 'mask-overlay': it draws (or channel-stacks) segmentation masks onto the "
    "image, which is not ASaRG's technique (ASaRG feeds anatomical masks as separate inputs through "
    "pooling/convolution into the projector beside the unmodified image's features, with a trainable "
    "adapter); use --adapter mask-overlay for the overlay behaviour"
)

ADAPTER = ModelAdapter(
    name="mask-overlay",
    description="Segmentation masks overlaid on (or stacked with) the image as model input (not ASaRG)",
    needs=("transformers", "torch"),
    inputs=frozenset({"frontal", "indication", "masks", "ct"}),
    params_billion=7.0,  # a LLaVA-7B-class checkpoint; pass your own model
    hub_ids=(),
    local_names=("mask-overlay", "mask_overlay"),
    install_hint="pip install 'radreview[gpu]'",
    factory=hf_factory(HFOptions(
        prompting=PromptOptions(conditioning="overlay", grammar="prose", max_images=1, grounding=False)
    )),
    notes=("formerly 'asarg'; ASaRG's mask-projector technique is not implemented",),
)


def asarg_renamed(**options: Any) -> Any:
    """The old ``asarg`` generator name: refused with :data:`ASARG_RENAMED`.

    Raises:
        ModelSetupError: Always.
    """
    from inference.model_loading import ModelSetupError

    raise ModelSetupError(ASARG_RENAMED)
