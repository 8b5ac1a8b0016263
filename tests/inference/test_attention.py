"""Attention maps: hand-built attention tensors → per-phrase heat maps of the right shape and values."""

from __future__ import annotations

import numpy as np
import pytest

from inference import attention as attn
from inference.image_prep import ModelImage, Placement


def _steps(
    n_steps: int, layers: int, heads: int, prompt: int, rng: np.random.Generator
) -> list[list[np.ndarray]]:
    """generate()-shaped attentions: step 0 (1, h, prompt, prompt), step t (1, h, 1, prompt + t)."""
    out = []
    for t in range(n_steps):
        q, k = (prompt, prompt) if t == 0 else (1, prompt + t)
        out.append([rng.random((1, heads, q, k)).astype(np.float32) for _ in range(layers)])
    return out


def test_image_token_positions_and_step_attentions_pick_last_row_and_image_columns() -> None:
    ids = np.array([1, 7, 4, 4, 4, 4, 9, 3])
    positions = attn.image_token_positions(ids, 4)
    assert positions.tolist() == [2, 3, 4, 5]
    steps = _steps(3, layers=2, heads=3, prompt=8, rng=np.random.default_rng(0))
    att = attn.step_attentions(steps, positions)
    assert att.shape == (3, 2, 3, 4)
    np.testing.assert_array_equal(att[0, 1, 2], steps[0][1][0, 2, -1, 2:6])  # step 0: last prompt row
    np.testing.assert_array_equal(att[2, 0, 1], steps[2][0][0, 1, 0, 2:6])


def test_step_attentions_refuses_empty_sdpa_output() -> None:
    with pytest.raises(ValueError, match="eager"):
        attn.step_attentions([()], np.array([0]))


def test_aggregate_views_hand_computed() -> None:
    att = np.zeros((2, 2, 2, 4), dtype=np.float32)  # steps, layers, heads, image tokens
    att[0, 0] = [[1, 0, 0, 0], [0, 1, 0, 0]]
    att[0, 1] = [[0, 0, 2, 0], [0, 0, 0, 2]]
    att[1, 1] = [[4, 0, 0, 0], [0, 0, 0, 0]]
    # mean over heads at the last layer, averaged over both tokens: ([0,0,1,1] + [2,0,0,0]) / 2
    np.testing.assert_allclose(attn.aggregate(att, [0, 1], "mean_heads", -1), [1.0, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(attn.aggregate(att, [0], "mean_heads", 0), [0.5, 0.5, 0.0, 0.0])
    # max over layers of the head means: token 0 → max([.5,.5,0,0],[0,0,1,1]) = [.5,.5,1,1]
    np.testing.assert_allclose(attn.aggregate(att, [0], "max_layers"), [0.5, 0.5, 1.0, 1.0])
    with pytest.raises(ValueError, match="view"):
        attn.aggregate(att, [0], "median")


def test_grid_is_row_major_and_non_square_counts_fail_with_both_numbers() -> None:
    grid = attn.to_grid(np.arange(9, dtype=np.float32))
    assert grid[0].tolist() == [0, 1, 2] and grid[2, 0] == 6
    with pytest.raises(ValueError, match=r"10 image tokens.*3x3=9"):
        attn.to_grid(np.arange(10))


def test_image_block_splits_tokens_per_image() -> None:
    v = np.arange(8)
    assert attn.image_block(v, 2, 1).tolist() == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="3 equal"):
        attn.image_block(v, 3)


def test_normalise_to_unit_range() -> None:
    out = attn.normalise(np.array([2.0, 4.0, 6.0]))
    assert out.tolist() == [0.0, 0.5, 1.0]
    assert attn.normalise(np.ones(3)).tolist() == [0.0, 0.0, 0.0]


def test_resample_keeps_patch_layout() -> None:
    grid = np.array([[1.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    up = attn.resample(grid, (8, 8))
    assert up.shape == (8, 8)
    assert up[0, 0] == pytest.approx(1.0) and up[7, 7] == pytest.approx(0.0)
    assert up[:4, :4].mean() > up[4:, 4:].mean()


def test_to_source_undoes_square_padding_for_a_radiograph() -> None:
    # a 4x8 radiograph padded into an 8x8 model image at row offset 2
    image = ModelImage(
        np.zeros((8, 8, 3), np.uint8), (Placement((2, 0, 6, 8), (0, 0, 4, 8)),), (4, 8), "frontal"
    )
    heat = np.zeros((8, 8), np.float32)
    heat[2:6, :4] = 1.0
    out = attn.to_source(heat, image)
    assert out.shape == (4, 8)
    assert out[:, :3].min() == pytest.approx(1.0) and out[:, 5:].max() == pytest.approx(0.0)


def test_to_source_puts_ct_tiles_back_on_their_slices() -> None:
    tiles = (Placement((0, 0, 4, 4), (2, 2, 6, 6), slice_index=1), Placement((0, 4, 4, 8), (0, 0, 4, 4), 3))
    image = ModelImage(np.zeros((8, 8, 3), np.uint8), tiles, (5, 10, 10), "ct region heart")
    heat = np.zeros((8, 8), np.float32)
    heat[:4, :4] = 0.75
    out = attn.to_source(heat, image)
    assert out.shape == (5, 10, 10)
    assert out[1, 2:6, 2:6].min() == pytest.approx(0.75)
    assert out[1].sum() == pytest.approx(0.75 * 16)
    assert out[3].max() == 0.0 and out[0].max() == 0.0


def test_phrase_heat_map_end_to_end_shape_and_range() -> None:
    rng = np.random.default_rng(1)
    att = rng.random((5, 2, 4, 2 * 16)).astype(np.float32)  # two images of 4x4 patches
    image = ModelImage(
        np.zeros((32, 32, 3), np.uint8), (Placement((0, 0, 32, 32), (0, 0, 64, 64)),), (64, 64), "f"
    )
    heat = attn.phrase_heat_map(att, [1, 2], image, n_images=2, image_index=1)
    assert heat.shape == (64, 64) and heat.dtype == np.float32
    assert heat.min() == pytest.approx(0.0, abs=1e-6) and heat.max() == pytest.approx(1.0, abs=1e-6)


def test_token_offsets_map_tokens_to_phrase_spans() -> None:
    vocab = {0: "the", 1: "heart", 2: "is", 3: "enlarged", 4: ".", 5: "<pad>"}

    def decode(ids):  # type: ignore[no-untyped-def]
        return " ".join(vocab[i] for i in ids if vocab[i] != "<pad>")

    ids = [0, 1, 5, 2, 3, 4]
    text = decode(ids)
    assert text == "the heart is enlarged ."
    offsets = attn.token_offsets(decode, ids)
    assert offsets == [(0, 3), (3, 9), (9, 9), (9, 12), (12, 21), (21, 23)]
    span = attn.locate(text, ["heart is enlarged."])[0]
    assert span == (4, 23)
    assert attn.tokens_for_span(offsets, span) == [1, 3, 4, 5]  # the empty <pad> span is skipped
    assert attn.tokens_for_span(offsets, (0, 3)) == [0]


def test_locate_is_sequential_and_reports_missing() -> None:
    text = "Heart normal. Lungs clear. Heart normal."
    assert attn.locate(text, ["heart normal", "heart  normal", "pneumothorax"]) == [(0, 12), (27, 39), None]
