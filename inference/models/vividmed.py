"""``vividmed``: VividMed (Luo et al. 2024; function2-llx/MMMM@c3c9caa), grounded phrases ``<p>…</p>``.

VividMed is **not** a LLaVA-style transformers model: it is a PEFT LoRA adapter over CogVLM
(``THUDM/cogvlm-chat-hf``, custom modelling code loaded with ``trust_remote_code``) with a 3D vision
encoder (patches over z as well as x/y) and a promptable segmentation head, loaded by its own code
(``mmmm.models.mmmm.from_pretrained('conf/model.yaml', adapter_dir)``, README "using adapter"). So:

* its own release (an ``adapter_config.json`` folder, or a CogVLM config) needs that code: without the
  ``mmmm`` package the adapter fails with exit code 4 and what to install; with it, run its evaluation
  (``scripts/evaluate/models/mmmm.py``) and import the CSV (``question, answer, prediction``) with
  ``--drafts-format vividmed`` — running the CogVLM model in-process is not wired;
* a transformers image-text-to-text checkpoint trained to answer in VividMed's ``<p>`` grammar runs on
  the ``hf`` path, decoded with ``<p>``/``</p>`` kept (``skip_special_tokens`` would delete them).

The input layout is reproduced exactly by :func:`input_ids` (``mmmm/data/utils.py``
``prepare_vlm_inputs``): ``[BOS] + (n + 2) image slots + <grd>|<ngrd> + tokens("<usr> {query}<sys>")``
with the special tokens of ``mmmm/tokenizer.py`` (:data:`SPECIAL_TOKENS`, added in that order).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inference.generators.options import GenerationParams, HFOptions, PromptOptions
from inference.models._hf import hf_factory
from inference.models.base import ModelAdapter, native_release

# mmmm/tokenizer.py MMMMTokenizer: sys, usr, grd, ngrd, bop, eop, bonp, eonp — added with special_tokens=True.
SPECIAL_TOKENS: tuple[str, ...] = ("<sys>", "<usr>", "<grd>", "<ngrd>", "<p>", "</p>", "<np>", "</np>")
# scripts/evaluate/models/mmmm.py MMMMTransform (task == 'report').
REPORT_QUERY = "Can you provide a radiology report for this medical image?"
# scripts/evaluate/models/mmmm.py: GenerationConfig(max_new_tokens=1024, do_sample=False).
MAX_NEW_TOKENS = 1024
INSTALL = (
    "git clone https://github.com/function2-llx/MMMM && pip install -e MMMM (module mmmm; it needs "
    "luolib, MONAI, peft); weights: THUDM/cogvlm-chat-hf (custom code, trust_remote_code) plus the VividMed "
    "LoRA adapter, copied to $RADREVIEW_MODELS/vividmed"
)


def prompt_text(query: str = REPORT_QUERY) -> str:
    """The text VividMed tokenizes after the image (``f'{user_start} {query}{sys_start}'``)."""
    return f"<usr> {query}<sys>"


def input_ids(tokenizer: Any, num_image_tokens: int, query: str = REPORT_QUERY, *,
              grounding: bool = True, image_slot_id: int = 0) -> list[int]:
    """``prepare_vlm_inputs(..., inference=True)``'s ``input_ids`` for one turn.

    ``[bos] + [image_slot_id] * (num_image_tokens + 2)`` (image patches plus begin/end of image) ``+
    [<grd> or <ngrd>] + encode("<usr> {query}<sys>", add_special_tokens=False)``. ``grounding=True``
    asks for ``<p>`` phrases (upstream's VL evaluation passes ``grounding=False``).
    """
    vocab = tokenizer.get_vocab()
    mode = vocab["<grd>" if grounding else "<ngrd>"]
    text = tokenizer.encode(prompt_text(query), add_special_tokens=False)
    return [int(tokenizer.bos_token_id), *[image_slot_id] * (num_image_tokens + 2), mode, *text]


def is_native_layout(path: str | Path) -> bool:
    """True for VividMed's own release: a PEFT adapter folder, or a CogVLM config."""
    p = Path(path)
    if (p / "adapter_config.json").is_file():
        return True
    config = p / "config.json"
    if config.is_file():
        text = json.dumps(json.loads(config.read_text())).lower()
        return "cogvlm" in text
    return False


_hf = hf_factory(HFOptions(
    prompting=PromptOptions(grammar="vividmed", max_images=1, grounding=False),
    decoding=GenerationParams(max_new_tokens=MAX_NEW_TOKENS),
))


def build(model: str, **options: Any) -> Any:
    """``hf`` generator for a transformers checkpoint in VividMed's grammar; its own release needs its code.

    Raises:
        MissingExtraError: Native layout and ``mmmm`` not importable (exit 4).
        ModelSetupError: Native layout with the code installed (run it, import its CSV).
    """
    if not is_native_layout(model):
        return _hf(model, **options)
    raise native_release(
        ADAPTER,
        f"{model} is VividMed's own release (LoRA over CogVLM with custom code and a 3D vision encoder); "
        "run its scripts/evaluate/models/mmmm.py and import the CSV with "
        "`radreview ingest STUDIES --drafts RESULT.csv --drafts-format vividmed`",
    )


ADAPTER = ModelAdapter(
    name="vividmed",
    description="VividMed grounded report with <p>phrase</p> tags (CogVLM + LoRA; CXR or CT)",
    needs=("mmmm", "peft"),
    inputs=frozenset({"frontal", "indication", "ct"}),
    params_billion=17.6,  # CogVLM-17B (Vicuna-7B + 10B visual expert + EVA-CLIP); the seg head not loaded
    hub_ids=(),
    local_names=("vividmed",),
    weight_markers=("config.json", "adapter_config.json"),
    install_hint=INSTALL,
    factory=build,
    notes=(
        "own release = CogVLM custom code (trust_remote_code) + LoRA + 3D vision: import its eval CSV",
        "segmentation head (masks per <p>) not run; grounding via attention on the hf path",
    ),
)
