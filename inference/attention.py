"""Attention heat maps: how much each generated phrase looked at each image patch.

From ``generate(output_attentions=True, return_dict_in_generate=True)`` (eager attention, DESIGN §9):
``attentions[t][layer]`` has shape ``(batch, heads, q, k)``; step 0 is the prompt pass
(``q`` = prompt length; its last row produced the first new token), later steps have ``q = 1``.
The image-token columns are where ``input_ids == image_token_id``, one contiguous block of ``g²``
tokens per image, row-major over the vision patch grid.

Per phrase the attention of its tokens is aggregated in one of LLaVA-Rad's two views — ``mean_heads``
(mean over heads at one layer) or ``max_layers`` (mean over heads, then max over layers) — averaged
over the phrase's tokens, reshaped to ``g × g``, normalised to [0, 1], resampled to the model image,
and mapped back to the study image through the image's :class:`~inference.image_prep.Placement` s.

Everything here is numpy on plain arrays; torch tensors are converted on entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from inference.image_prep import ModelImage

View = Literal["mean_heads", "max_layers"]
VIEWS: tuple[str, ...] = get_args(View)
FloatArray = npt.NDArray[np.float32]


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()  # type: ignore[no-any-return]
    return np.asarray(x)


def image_token_positions(input_ids: Any, image_token_id: int) -> npt.NDArray[np.int64]:
    """Indices of the image-token columns in a 1D prompt ``input_ids``."""
    ids = _numpy(input_ids).reshape(-1)
    return np.flatnonzero(ids == image_token_id).astype(np.int64)


def step_attentions(attentions: Sequence[Sequence[Any]], positions: np.ndarray) -> FloatArray:
    """Attention of every generated token to the image tokens.

    Args:
        attentions: ``generate(...).attentions``: per step, per layer ``(batch, heads, q, k)``.
        positions: Image-token columns (from :func:`image_token_positions`).

    Returns:
        ``(steps, layers, heads, n_image_tokens)`` float32 for batch item 0, using each step's last
        query row (the row that produced that step's token).

    Raises:
        ValueError: When attentions are empty (the model ran with ``sdpa``: load it with ``eager``).
    """
    if not attentions or not attentions[0]:
        raise ValueError(
            "generate() returned no attentions; load the model with attn_implementation='eager' "
            "(sdpa silently returns none)"
        )
    columns = positions.tolist()  # list indexing works on numpy arrays and torch tensors alike
    steps = []
    for per_layer in attentions:
        # slice on the device first: step 0 holds the full (heads, q, k) prompt attention per layer
        steps.append(np.stack([_numpy(layer[0, :, -1, :][:, columns]) for layer in per_layer]))
    return np.stack(steps).astype(np.float32)


def aggregate(
    att: FloatArray, token_indices: Sequence[int], view: str = "mean_heads", layer: int = -1
) -> FloatArray:
    """One vector over image tokens for a phrase.

    Args:
        att: ``(steps, layers, heads, n)`` from :func:`step_attentions`.
        token_indices: The generated tokens of the phrase (indices into ``steps``).
        view: ``mean_heads`` — mean over heads at ``layer``; ``max_layers`` — mean over heads,
            then max over layers.
        layer: Layer for ``mean_heads`` (negative counts from the end).

    Returns:
        ``(n,)``: the per-token views averaged over the phrase's tokens.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown attention view {view!r}; choose one of {', '.join(VIEWS)}")
    if not token_indices:
        raise ValueError("a phrase with no generated tokens has no attention")
    picked = att[list(token_indices)]
    per_token = picked[:, layer].mean(axis=1) if view == "mean_heads" else picked.mean(axis=2).max(axis=1)
    return per_token.mean(axis=0).astype(np.float32)  # type: ignore[no-any-return]


def image_block(vector: np.ndarray, n_images: int, index: int = 0) -> np.ndarray:
    """The slice of an image-token vector that belongs to image ``index`` of ``n_images``."""
    if n_images < 1 or vector.shape[-1] % n_images:
        raise ValueError(f"{vector.shape[-1]} image tokens do not split into {n_images} equal images")
    per = vector.shape[-1] // n_images
    return vector[..., index * per : (index + 1) * per]


def to_grid(vector: np.ndarray) -> FloatArray:
    """Reshape ``g²`` image-token values row-major to ``(g, g)``.

    Raises:
        ValueError: When the count is not a square (e.g. a CLS token was left in), stating the count.
    """
    n = vector.shape[-1]
    g = math.isqrt(n)
    if g * g != n:
        raise ValueError(f"{n} image tokens do not form a square patch grid (nearest {g}x{g}={g * g})")
    return vector.reshape(g, g).astype(np.float32)


def normalise(values: np.ndarray) -> FloatArray:
    """Min–max scale to [0, 1]; a constant map becomes all zeros."""
    low, high = float(values.min()), float(values.max())
    if high - low <= 0.0:
        return np.zeros(values.shape, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def resample(grid: np.ndarray, size: tuple[int, int]) -> FloatArray:
    """Bilinear resample of a patch grid to ``size`` (rows, cols), patch centres at cell centres."""
    from scipy.ndimage import map_coordinates

    g_rows, g_cols = grid.shape
    rows = (np.arange(size[0]) + 0.5) * g_rows / size[0] - 0.5
    cols = (np.arange(size[1]) + 0.5) * g_cols / size[1] - 0.5
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    return map_coordinates(grid.astype(np.float32), [rr, cc], order=1, mode="nearest")  # type: ignore[no-any-return]


def to_source(heat: np.ndarray, image: ModelImage) -> FloatArray:
    """Map a heat map on the model image back onto the study image (2D) or volume (3D).

    Pixels the model never saw (padding, unsampled slices) are 0; tiles are resampled to the size of
    the source rectangle they show.
    """
    if heat.shape != image.pixels.shape[:2]:
        raise ValueError(f"heat map {heat.shape} does not match the model image {image.pixels.shape[:2]}")
    out = np.zeros(image.source_shape, dtype=np.float32)
    for p in image.placements:
        tile = heat[p.tile[0] : p.tile[2], p.tile[1] : p.tile[3]]
        box = p.source
        patch = resample(tile, (box[2] - box[0], box[3] - box[1]))
        target = out if p.slice_index is None else out[p.slice_index]
        target[box[0] : box[2], box[1] : box[3]] = np.maximum(target[box[0] : box[2], box[1] : box[3]], patch)
    return out


def phrase_heat_map(
    att: FloatArray,
    token_indices: Sequence[int],
    image: ModelImage,
    *,
    n_images: int = 1,
    image_index: int = 0,
    view: str = "mean_heads",
    layer: int = -1,
) -> FloatArray:
    """The full chain for one phrase: aggregate → image block → grid → model image → study, in [0, 1].

    Returns:
        float32 of ``image.source_shape``; 1 where the phrase attended most, 0 where least or unseen.
    """
    vector = image_block(aggregate(att, token_indices, view, layer), n_images, image_index)
    grid = to_grid(vector)
    return normalise(to_source(resample(grid, image.pixels.shape[:2]), image))


def token_offsets(decode: Callable[[Sequence[int]], str], ids: Sequence[int]) -> list[tuple[int, int]]:
    """Character span of each generated token in the decoded text.

    ``decode(ids[:t + 1])`` is compared with ``decode(ids[:t])``; token ``t`` covers the characters
    added (special tokens that decode to nothing get an empty span). Where decoding is not
    prefix-stable (a byte-fallback token completing a character), the span starts at the common prefix.
    """
    spans, previous = [], ""
    for t in range(len(ids)):
        text = decode(ids[: t + 1])
        start = len(previous) if text.startswith(previous) else len(_common_prefix(previous, text))
        spans.append((start, len(text)))
        previous = text
    return spans


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def tokens_for_span(offsets: Sequence[tuple[int, int]], span: tuple[int, int]) -> list[int]:
    """Indices of the tokens whose non-empty character span overlaps ``[start, end)``."""
    start, end = span
    return [t for t, (a, b) in enumerate(offsets) if b > a and a < end and b > start]


def locate(text: str, needles: Sequence[str], start: int = 0) -> list[tuple[int, int] | None]:
    """Find each needle in ``text`` in order (each search starts where the previous match ended).

    Matching ignores case and whitespace between words and punctuation (``heart .`` matches
    ``heart.``), since tokenizers and parsers space text differently. ``None`` marks a needle not found.
    """
    import re

    spans: list[tuple[int, int] | None] = []
    cursor = start
    for needle in needles:
        words = re.findall(r"\w+|[^\w\s]", needle)
        if not words:
            spans.append(None)
            continue
        pattern = re.compile(r"\s*".join(re.escape(w) for w in words), re.IGNORECASE)
        match = pattern.search(text, cursor)
        spans.append((match.start(), match.end()) if match else None)
        if match:
            cursor = match.end()
    return spans
