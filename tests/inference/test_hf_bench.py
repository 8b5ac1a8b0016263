"""bench/generate.py: the floor inputs are right and CPU runs report quantized modes as skipped."""

from __future__ import annotations

import json

import pytest

from bench import generate as bench_generate
from inference.tiny import TINY, build_config, vocabulary


def test_decoder_weight_bytes_counts_the_language_model_only() -> None:
    from transformers import LlavaForConditionalGeneration

    model = LlavaForConditionalGeneration(build_config(TINY))
    h, inter, layers, vocab = TINY.text_hidden, TINY.text_intermediate, TINY.text_layers, len(vocabulary())
    kv = h * TINY.text_kv_heads // TINY.text_heads
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * inter + 2 * h  # q,o + k,v + gate,up,down + 2 norms
    expected_params = 2 * vocab * h + layers * per_layer + h  # embeddings + lm_head + layers + final norm
    buffers = sum(
        b.numel() * b.element_size()
        for n, b in model.named_buffers()
        if "vision_tower" not in n and "multi_modal_projector" not in n
    )
    assert bench_generate.decoder_weight_bytes(model) == 4 * expected_params + buffers


def test_bandwidth_is_a_plausible_positive_rate() -> None:
    rate = bench_generate.bandwidth_bytes_per_s("cpu", megabytes=16, reps=2)
    assert 1e8 < rate < 1e13


def test_skipped_measure_has_a_reason_and_no_numbers() -> None:
    m = bench_generate.skipped("generate.decode_tiny_4bit", "4bit needs a CUDA GPU", device="cpu")
    assert m == {
        "name": "generate.decode_tiny_4bit",
        "ours_s": None,
        "floor_s": None,
        "ratio": None,
        "n": 0,
        "params": {"skipped": "4bit needs a CUDA GPU", "device": "cpu"},
    }
    json.dumps(m, allow_nan=False)


@pytest.mark.slow
@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="the CPU report is what is checked here")
def test_quick_cpu_run_measures_tiny_and_skips_quantized() -> None:
    measures = bench_generate.run(quick=True)
    assert [m["name"] for m in measures] == [
        "generate.decode_tiny_none",
        "generate.draft120_tiny_none",
        "generate.batch1_tiny_none",
        "generate.batch4_tiny_none",
        "generate.batch8_tiny_none",
        "generate.decode_tiny_8bit",
        "generate.decode_tiny_4bit",
        "generate.decode_tiny_torchao-int4",
    ]
    taken, skipped = measures[:5], measures[5:]
    for m in taken:  # ≥ 0: on a loaded 2-core machine a tiny decode step can time as nothing
        assert m["ours_s"] >= 0 and m["floor_s"] > 0
        assert m["ratio"] == pytest.approx(m["ours_s"] / m["floor_s"])
    assert taken[0]["params"]["weights_mb"] > 0 and taken[0]["params"]["peak_memory_mb"] > 0
    for m in skipped:
        assert m["ours_s"] is None and m["ratio"] is None and "needs a CUDA GPU" in m["params"]["skipped"]
    json.dumps(measures, allow_nan=False)  # valid JSON: no NaN/Infinity stand-ins
