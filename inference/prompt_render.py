"""Rendering a :class:`inference.prompts.PromptRequest` to the prompt string a model reads.

The processor's chat template when it has one, else :func:`render_plain`, LLaVA's
``conv_vicuna_v1.get_prompt()`` (microsoft/LLaVA-Rad@1fc4409:llava/conversation.py) reproduced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inference.prompts import PromptRequest

# llava/conversation.py conv_vicuna_v1 (the "v1" template of scripts/eval.sh and finetune_lora.sh).
VICUNA_V1_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)


def render_plain(messages: tuple[dict[str, Any], ...], image_token: str, *, system: bool = True) -> str:
    """``conv_vicuna_v1.get_prompt()`` (``SeparatorStyle.TWO``): ``{system} USER: {content} ASSISTANT:``.

    Items stay in order: an image is ``{image_token}\\n`` (as LLaVA's ``"<image>\\n" + query``), a text
    item its stripped text and a space; the message is stripped.
    """
    parts = []
    for message in messages:
        body = "".join(
            f"{image_token}\n" if c["type"] == "image" else c["text"].strip() + " "
            for c in message["content"]
        ).strip()
        if message["role"] == "system":
            parts.append(body)
        else:
            parts.append(f"{message['role'].upper()}: {body}")
    if system and not any(m["role"] == "system" for m in messages):
        parts.insert(0, VICUNA_V1_SYSTEM)
    return " ".join(parts) + (" ASSISTANT:" if system else "")


def render(request: PromptRequest, processor: Any) -> str:
    """The prompt string for ``processor``: its chat template when it has one, else :func:`render_plain`."""
    if getattr(processor, "chat_template", None):
        return str(
            processor.apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=False)
        )
    token = getattr(processor, "image_token", None) or "<image>"
    return render_plain(request.messages, token)
