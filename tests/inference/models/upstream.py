"""Upstream behaviour reproduced for the fidelity tests: each block names the file it copies.

Nothing here imports radreview: these are the authors' prompt builders, conversation formats, chat
templates, token layouts and parsers, rewritten from the upstream source (read at the commits named) so
the tests can hold our prompts and parsers against them offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------------
# LLaVA-Rad — microsoft/LLaVA-Rad@1fc4409
# ---------------------------------------------------------------------------------------------------


@dataclass
class Conversation:
    """``llava/conversation.py`` ``Conversation`` with ``get_prompt`` for ``SeparatorStyle.TWO`` (v1)."""

    system: str
    roles: tuple[str, str]
    sep: str
    sep2: str
    messages: list[list[Any]] = field(default_factory=list)

    def append_message(self, role: str, message: str | None) -> None:
        self.messages.append([role, message])

    def get_prompt(self) -> str:
        seps = [self.sep, self.sep2]
        ret = self.system + seps[0]
        for i, (role, message) in enumerate(self.messages):
            if message:
                ret += role + ": " + message + seps[i % 2]
            else:
                ret += role + ":"
        return ret


def conv_vicuna_v1() -> Conversation:
    """``conv_templates["v1"]`` (``conv_vicuna_v1``), the ``conv_mode="v1"`` of ``scripts/eval.sh``."""
    return Conversation(
        system="A chat between a curious user and an artificial intelligence assistant. "
        "The assistant gives helpful, detailed, and polite answers to the user's questions.",
        roles=("USER", "ASSISTANT"),
        sep=" ",
        sep2="</s>",
    )


def llava_rad_query(reason: str | None) -> str:
    """``llava/utils.py`` ``data_loader_mimic_reason_findings``: the query of one test example."""
    if reason is not None:
        reason = reason.replace("\n", " ")
        return (
            "<image>\nProvide a description of the findings in the radiology image given the following "
            f"indication: {reason}"
        )
    return "<image>\nProvide a description of the findings in the radiology image."


def llava_rad_prompt(reason: str | None) -> str:
    """``llava/eval/model_mimic_cxr.py`` ``eval_model``: query → prompt (``mm_use_im_start_end=False``)."""
    q = llava_rad_query(reason).replace("<image>", "").strip()
    q = "<image>" + "\n" + q
    conv = conv_vicuna_v1()
    conv.append_message(conv.roles[0], q)
    conv.append_message(conv.roles[1], None)
    return conv.get_prompt()


def tokenizer_image_token(prompt: str, tokenizer: Any, image_token_index: int) -> list[int]:
    """``llava/mm_utils.py`` ``tokenizer_image_token`` (chunks tokenized apart, image sentinel between)."""
    prompt_chunks = [tokenizer(chunk).input_ids for chunk in prompt.split("<image>")]

    def insert_separator(x: list[Any], sep: Any) -> list[Any]:
        return [ele for sublist in zip(x, [sep] * len(x), strict=True) for ele in sublist][:-1]

    input_ids: list[int] = []
    offset = 0
    if prompt_chunks and prompt_chunks[0] and prompt_chunks[0][0] == tokenizer.bos_token_id:
        offset = 1
        input_ids.append(prompt_chunks[0][0])
    for x in insert_separator(prompt_chunks, [image_token_index] * (offset + 1)):
        input_ids.extend(x[offset:])
    return input_ids


# ---------------------------------------------------------------------------------------------------
# MAIRA-2 — Maira2Processor (microsoft/maira-2, processing_maira2.py; public mirror
# johannes2moll/maira_rrg@8d43007:processing_maira2.py, whose instruction wording the fork edited to
# "structured description of the impressions"; the wording below is the model card's, "a description
# of the findings")
# ---------------------------------------------------------------------------------------------------

MAIRA2_GROUNDED = (
    " Provide a description of the findings in the radiology study in comparison to the "
    "prior frontal image. Each finding should be described as a self-contained plain-text sentence."
    " If the finding is groundable, locate the finding in the current frontal chest X-ray image, "
    "with bounding boxes indicating all locations where it can be seen in the current frontal "
    "image. Otherwise, generate just the ungrounded finding without bounding boxes. INDICATION: "
)


def _section(section: str | None) -> str:
    return section if isinstance(section, str) and len(section) > 0 else "N/A"


def maira2_image_messages(has_prior: bool, has_lateral: bool) -> list[dict[str, Any]]:
    """``_construct_image_chat_messages_for_reporting``."""
    prompt: list[dict[str, Any]] = []

    def add(text: str, index: int) -> None:
        prompt.extend(
            [{"index": None, "text": text, "type": "text"}, {"index": index, "text": None, "type": "image"}]
        )

    index = 0
    if not has_prior and not has_lateral:
        add("Given the current frontal image only", index)
    else:
        add("Given the current frontal image", index)
        index += 1
        if has_prior:
            if has_lateral:
                add(" the current lateral image", index)
                index += 1
            add(" and the prior frontal image", index)
        elif has_lateral:
            add(" and the current lateral image", index)
    return prompt


def maira2_reporting_messages(
    has_prior: bool,
    has_lateral: bool,
    indication: str | None,
    technique: str | None,
    comparison: str | None,
    prior_report: str | None,
) -> list[dict[str, Any]]:
    """``_construct_chat_messages_reporting(get_grounding=True, assistant_text=None)``."""
    prompt = maira2_image_messages(has_prior, has_lateral)
    if has_prior:
        prompt.append({"index": None, "text": f" PRIOR_REPORT: {_section(prior_report)}", "type": "text"})
    prompt.append(
        {
            "index": None,
            "type": "text",
            "text": MAIRA2_GROUNDED
            + f"{_section(indication)} TECHNIQUE: {_section(technique)} COMPARISON: {_section(comparison)}",
        }
    )
    return [{"content": prompt, "role": "user"}]


# MAIRA-2's chat template renders roles LLaVA-1.5 style: "USER: " for user, "ASSISTANT: " for every other
# role with eos after it (issue 14's reading of the checkpoint's template). The template text below is
# llava-hf/llava-1.5-7b-hf's LLaVA-1.5 template as quoted verbatim in huggingface/trl's VLM tests and
# docs (plus add_generation_prompt); MAIRA-2's own hub file could not be fetched here (hub-only).
LLAVA15_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}"
    "{% elif item['type'] == 'image' %}<image>{% endif %}{% endfor %}"
    "{% if message['role'] == 'user' %} {% else %}{{eos_token}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT: {% endif %}"
)

MAIRA2_NUM_BINS = 100


def _between(text: str, begin: str, end: str) -> list[str]:
    """``_get_text_between_delimiters`` (asserts on malformed input, as upstream)."""
    out = []
    while begin in text:
        assert text.startswith(begin)
        end_index = text.find(end)
        assert end_index != -1
        out.append(text[len(begin) : end_index])
        text = text[end_index + len(end) :]
    assert len(text) == 0
    return out


def maira2_grounded_sequence(text: str) -> str | list[tuple[str, list[tuple[float, ...]] | None]]:
    """``convert_output_to_plaintext_or_grounded_sequence``."""
    text = text.strip()
    if not any(t in text for t in ("<obj>", "</obj>", "<box>", "</box>")):
        return text
    phrases: list[tuple[str, list[tuple[float, ...]] | None]] = []
    for chunk in _between(text, "<obj>", "</obj>"):
        if "<box>" in chunk or "</box>" in chunk:
            first = chunk.find("<box>")
            boxes = []
            for box_text in _between(chunk[first:], "<box>", "</box>"):
                m = re.search(r"<x(\d+?)><y(\d+?)><x(\d+?)><y(\d+?)>", box_text)
                assert m is not None
                boxes.append(tuple((int(c) + 0.5) / MAIRA2_NUM_BINS for c in m.groups()))
            phrases.append((chunk[:first].strip(), boxes))
        else:
            phrases.append((chunk.lstrip(), None))
    return phrases


def maira2_adjust_box(box: tuple[float, ...], width: int, height: int) -> tuple[float, ...]:
    """``adjust_box_for_original_image_size`` (centre crop to the shorter side, int truncation)."""
    crop = min(width, height)
    x_off, y_off = (width - crop) // 2, (height - crop) // 2
    x0, y0, x1, y1 = box
    return (
        int(x0 * crop + x_off) / width,
        int(y0 * crop + y_off) / height,
        int(x1 * crop + x_off) / width,
        int(y1 * crop + y_off) / height,
    )


def maira2_normalize(pixels: Any) -> Any:
    """``_normalize_image`` on an 8/16-bit grey array (``convert("L")`` skipped: already grey)."""
    import numpy as np

    image_np = np.asarray(pixels).astype(float)
    image_np -= image_np.min()
    image_np /= image_np.max()
    image_np *= 255
    return image_np.astype(np.uint8)


# ---------------------------------------------------------------------------------------------------
# LLM-RG4 — zh-Wang-Med/LLM-RG4@04b2315
# ---------------------------------------------------------------------------------------------------

LLM_RG4_PA_FI = (
    "Write radiological finding and impression for this posterior anterior chest X-ray visual feature"
)
LLM_RG4_AP_FI = (
    "Write radiological finding and impression for this anterior posterior chest X-ray visual feature"
)
LLM_RG4_F = "Write radiological finding section of report for chest X-ray examination"


def llm_rg4_h_i(indication: str | int, history: str | int) -> str:
    """``dataset/data_helper_*.py`` ``parse``: ``h_i`` (0 stands for a missing field, as upstream)."""
    h_i = ""
    if indication != 0 or history != 0:
        if indication == 0:
            h_i = "HISTORY: " + str(history)
        if history == 0:
            h_i = "INDICATION: " + str(indication)
        if history != 0 and indication != 0:
            h_i = "INDICATION: " + str(indication) + " HISTORY: " + str(history)
    return h_i


def llm_rg4_prompt(h_i: str, appa: str) -> str:
    """``models/LLM_RG4.py`` ``prompt_sn`` (finding and impression both wanted)."""
    if appa == "AP":
        return f"Human: {h_i} <Img><ImageHere></Img> {LLM_RG4_AP_FI}. \nAssistant:"
    if appa == "PA":
        return f"Human: {h_i} <Img><ImageHere></Img> {LLM_RG4_PA_FI}. \nAssistant:"
    return f"Human: {h_i} <Img><ImageHere></Img> \n{LLM_RG4_F}. \nAssistant:"


# ---------------------------------------------------------------------------------------------------
# Reg2RG — zhi-xuan-chen/Reg2RG@4effe09, src/Dataset/radgenome_dataset_test.py
# ---------------------------------------------------------------------------------------------------

REG2RG_REGIONS = [
    "abdomen",
    "bone",
    "breast",
    "esophagus",
    "heart",
    "lung",
    "mediastinum",
    "pleura",
    "thyroid",
    "trachea and bronchie",
]
REG2RG_INSTRUCTION = (
    "Given the provided global and regional information from this CT scan, please generate a comprehensive "
    "medical report for each region. First, identify the anatomical area corresponding to each region, then "
    "provide detailed information about these anatomical structures and any abnormalities that are "
    "essential. You can refer to the global information as the context and take it as a supplement when "
    "generating each region report."
)


def reg2rg_prompt(num_regions: int, image_num: int = 32, region_num: int = 33) -> str:
    """``text_add_image_tokens(text_add_region_tokens(instruction, num_regions))`` with the padding tokens."""
    image_pad = "".join(f"<image{j}>" for j in range(image_num))
    region_text = ""
    for i in range(num_regions):
        pad = "".join(f"<region{i * region_num + j}>" for j in range(region_num))
        region_text = region_text + "The region " + str(i) + " is " + "<region>" + pad + "</region>. "
    text = region_text + REG2RG_INSTRUCTION
    text = "<image>" + image_pad + "</image>" + ". " + text
    return "The global information is provided as the context: " + text


def reg2rg_region2area(present: list[str]) -> dict[int, str]:
    """``__getitem__``: regions with a (non-empty) mask, in ``REGIONS`` order, numbered from 0."""
    return dict(enumerate(r for r in REG2RG_REGIONS if r in present))


# ---------------------------------------------------------------------------------------------------
# VividMed — function2-llx/MMMM@c3c9caa
# ---------------------------------------------------------------------------------------------------

# mmmm/tokenizer.py MMMMTokenizer.__init__: these, in this order, add_tokens(special_tokens=True).
MMMM_SPECIALS = ["<sys>", "<usr>", "<grd>", "<ngrd>", "<p>", "</p>", "<np>", "</np>"]


def mmmm_input_ids(tokenizer: Any, query: str, num_image_tokens: int, grounding: bool) -> list[int]:
    """``mmmm/data/utils.py`` ``prepare_vlm_inputs(inference=True)`` ``input_ids`` for one turn."""
    vocab = tokenizer.get_vocab()
    prompt = f"<usr> {query}<sys>"
    text_ids = tokenizer.encode(prompt, add_special_tokens=False)
    num_image_tokens += 2  # to include boi and eoi
    return [
        tokenizer.bos_token_id,
        *[0] * num_image_tokens,
        vocab["<grd>"] if grounding else vocab["<ngrd>"],
        *text_ids,
    ]


def mmmm_wrap_name(name: str) -> str:
    """``MMMMTokenizer.wrap_name(pos=True)``: how a grounded phrase appears in VividMed's text."""
    return f"<p> {name}</p>"


# ---------------------------------------------------------------------------------------------------
# MedGemma — google/gemma-3-4b-it tokenizer_config.json chat_template (MedGemma 4B-it ships the same
# Gemma 3 template; text as mirrored publicly, e.g. in llama.cpp's and BFCL's Gemma 3 handlers)
# ---------------------------------------------------------------------------------------------------

GEMMA3_CHAT_TEMPLATE = (  # the real template text
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    '    {%- set first_user_prefix = "" -%}\n'
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    '        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}\n'
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    '        {%- set role = "model" -%}\n'
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    '        {{ raise_exception("Invalid content type") }}\n'
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\n'}}\n"
    "{%- endif -%}\n"
)
