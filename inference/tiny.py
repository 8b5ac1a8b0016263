"""Build a randomly initialised LLaVA-family model with a local tokenizer and processor, offline.

Used by the tests (the real ``hf`` loading path on CPU in well under a second) and by
``radreview bench generate`` (the same builder at 7B shape on a GPU). Nothing is downloaded: the
configs are written here, the tokenizer is a ``tokenizers`` WordLevel model over a fixed report
vocabulary, and the processor is a ``LlavaProcessor`` around a ``CLIPImageProcessor``.

The weights are random, so the text a tiny model writes is word salad from the vocabulary; it is a
plumbing model, never a radiology model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "<s>", "</s>", "<unk>", "<image>")
GROUNDING_TOKENS: tuple[str, ...] = ("<obj>", "</obj>", "<box>", "</box>", "<p>", "</p>")
REPORT_WORDS: tuple[str, ...] = tuple(
    [
        ".",
        ",",
        ":",
        ";",
        "the",
        "a",
        "is",
        "are",
        "there",
        "no",
        "of",
        "in",
        "and",
        "with",
        "without",
        "or",
        "to",
        "right",
        "left",
        "upper",
        "lower",
        "lobe",
        "lung",
        "lungs",
        "heart",
        "size",
        "normal",
        "enlarged",
        "cardiomediastinal",
        "silhouette",
        "mediastinum",
        "pleural",
        "pleura",
        "effusion",
        "pneumothorax",
        "consolidation",
        "opacity",
        "nodule",
        "mass",
        "clear",
        "stable",
        "unchanged",
        "compared",
        "prior",
        "small",
        "large",
        "moderate",
        "mild",
        "bones",
        "osseous",
        "fracture",
        "trachea",
        "bronchi",
        "esophagus",
        "thyroid",
        "abdomen",
        "breasts",
        "diaphragm",
        "airway",
        "region",
        "findings",
        "impression",
        "acute",
        "process",
        "focal",
        "seen",
        "identified",
        "within",
        "limits",
        "evidence",
        "of",
    ]
)
# Interleaves images and text in message order (LLaVA-1.5 style roles), so multi-image prompts keep
# each image next to the words that name it (MAIRA-2 / LLM-RG4 style).
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% for c in message['content'] %}{{ c['text'] + ' ' }}{% endfor %}"
    "{% else %}{{ message['role'].upper() + ': ' }}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}{{ '<image>\n' }}"
    "{% else %}{{ c['text'] + ' ' }}{% endif %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


@dataclass(frozen=True)
class LlavaShape:
    """The sizes of a LLaVA (CLIP vision tower + Llama text model) to build.

    The defaults are the tiny test model (DESIGN §9: hidden 32, 2 layers). 4-bit quantization needs
    every linear layer at least 64 wide in its input, hence :data:`QUANTIZABLE`.
    """

    text_hidden: int = 32
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 64
    vision_hidden: int = 32
    vision_layers: int = 2
    vision_heads: int = 4
    vision_intermediate: int = 64
    image_size: int = 32
    patch_size: int = 8
    vocab_size: int | None = None  # None: exactly the built-in vocabulary
    max_positions: int = 2048

    @property
    def grid(self) -> int:
        """Patches per side of the vision grid."""
        return self.image_size // self.patch_size

    @property
    def image_tokens(self) -> int:
        """Image tokens per image (CLS dropped: ``vision_feature_select_strategy='default'``)."""
        return self.grid * self.grid


TINY = LlavaShape()
QUANTIZABLE = LlavaShape(text_hidden=128, text_intermediate=256, vision_hidden=128, vision_intermediate=256)
# llava-1.5-7b: Vicuna-7B (Llama-2 7B shape) + CLIP ViT-L/14 at 336 px, 576 image tokens.
LLAVA_7B = LlavaShape(
    text_hidden=4096, text_layers=32, text_heads=32, text_kv_heads=32, text_intermediate=11008,
    vision_hidden=1024, vision_layers=24, vision_heads=16, vision_intermediate=4096,
    image_size=336, patch_size=14, vocab_size=32064, max_positions=4096,
)


def vocabulary(vocab_size: int | None = None) -> list[str]:
    """The tokenizer's words, in id order: specials, grounding tags, MAIRA-2 box bins, report words.

    Args:
        vocab_size: Pad with ``<extra_i>`` words up to this size (it must not be smaller).
    """
    bins = [f"<{axis}{i}>" for axis in ("x", "y") for i in range(100)]
    words = [*SPECIAL_TOKENS, *GROUNDING_TOKENS, *bins, *dict.fromkeys(REPORT_WORDS)]
    if vocab_size is not None:
        if vocab_size < len(words):
            raise ValueError(f"vocab_size {vocab_size} is smaller than the {len(words)} built-in words")
        words += [f"<extra_{i}>" for i in range(vocab_size - len(words))]
    return words


def build_tokenizer(vocab_size: int | None = None) -> Any:
    """A ``PreTrainedTokenizerFast`` over :func:`vocabulary` (WordLevel, whitespace/punctuation split)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(vocabulary(vocab_size))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    core.add_tokens([w for w in vocab if w.startswith("<") and w not in SPECIAL_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )


def build_processor(shape: LlavaShape = TINY, *, chat_template: bool = True) -> Any:
    """A ``LlavaProcessor`` (CLIP image processor + :func:`build_tokenizer`) for ``shape``.

    Args:
        shape: Model sizes (image and patch size, vocabulary).
        chat_template: Attach :data:`TINY_CHAT_TEMPLATE`; ``False`` exercises the plain-template path.
    """
    from transformers import LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": shape.image_size},
        crop_size={"height": shape.image_size, "width": shape.image_size},
    )
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=build_tokenizer(shape.vocab_size),
        patch_size=shape.patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=TINY_CHAT_TEMPLATE if chat_template else None,
    )


def _tower(hidden: int, intermediate: int, layers: int, heads: int) -> dict[str, Any]:
    """The size keywords a CLIP vision config and a Llama text config share."""
    return {"hidden_size": hidden, "intermediate_size": intermediate, "num_hidden_layers": layers,
            "num_attention_heads": heads}


def build_config(shape: LlavaShape = TINY) -> Any:
    """The ``LlavaConfig`` for ``shape`` (image token id = the tokenizer's ``<image>`` id)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vocab = len(vocabulary(shape.vocab_size))
    vision = CLIPVisionConfig(
        **_tower(shape.vision_hidden, shape.vision_intermediate, shape.vision_layers, shape.vision_heads),
        image_size=shape.image_size,
        patch_size=shape.patch_size,
        projection_dim=shape.vision_hidden,
    )
    text = LlamaConfig(
        **_tower(shape.text_hidden, shape.text_intermediate, shape.text_layers, shape.text_heads),
        num_key_value_heads=shape.text_kv_heads,
        vocab_size=vocab,
        max_position_embeddings=shape.max_positions,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=SPECIAL_TOKENS.index("<image>"),
        image_seq_length=shape.image_tokens,
        vision_feature_select_strategy="default",
    )


def save_tiny_llava(
    directory: str | Path,
    shape: LlavaShape = TINY,
    *,
    seed: int = 0,
    chat_template: bool = True,
    device: str = "cpu",
    dtype: str = "float32",
) -> Path:
    """Build a random LLaVA of ``shape`` with its tokenizer and processor and save all to ``directory``.

    Args:
        directory: Where to write (created); afterwards it loads with ``AutoProcessor`` and
            ``AutoModelForImageTextToText`` like any hub checkpoint.
        shape: Sizes; :data:`TINY` for tests, :data:`LLAVA_7B` for GPU benchmarks.
        seed: ``torch.manual_seed`` before initialisation (same seed, same weights).
        chat_template: Whether the processor carries a chat template.
        device: Where to initialise (``cuda`` for 7B shapes: ~13 GB in bf16).
        dtype: ``float32``, ``bfloat16`` or ``float16``.

    Returns:
        The directory.
    """
    import torch
    from transformers import LlavaForConditionalGeneration

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch_dtype = getattr(torch, dtype)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch_dtype)
    try:
        with torch.device(device):
            model = LlavaForConditionalGeneration(build_config(shape)).eval()
    finally:
        torch.set_default_dtype(previous)
    model.generation_config.pad_token_id = 0
    model.save_pretrained(out)
    build_processor(shape, chat_template=chat_template).save_pretrained(out)
    del model
    return out
