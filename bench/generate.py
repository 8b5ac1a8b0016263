"""``radreview bench generate``: decode speed and peak memory of the ``hf`` path, beside the memory floor.

Decoding one token reads every language-model weight once, so ``weights bytes ÷ memory bandwidth`` is
a floor on the time per token; both are measured in this run (bandwidth by a large device-to-device
copy, counted as read + write). ``ours_s`` is seconds per decoded token: the median over repetitions
of ``(t(1 + N new tokens) − t(1 new token)) / N``, which removes the prompt pass (prefill).

* CUDA: a randomly initialised 7B-shaped LLaVA (Vicuna-7B + CLIP ViT-L/336, :data:`inference.tiny.LLAVA_7B`)
  is built on the GPU, saved, and loaded through :func:`inference.model_loading.load_model` at
  ``none`` (bf16), ``8bit`` and ``4bit``.
* CPU: the tiny test model only; 8-bit/4-bit are reported as skipped (with the reason), never as
  numbers from another configuration.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import result


def bandwidth_bytes_per_s(device: str, megabytes: int = 512, reps: int = 5) -> float:
    """Memory bandwidth from the best of ``reps`` copies of a ``megabytes`` buffer (read + write bytes)."""
    if device.startswith("cuda"):
        import torch

        src = torch.empty(megabytes * 2**20, dtype=torch.uint8, device=device)
        dst = torch.empty_like(src)
        best = float("inf")
        for _ in range(reps):
            torch.cuda.synchronize()
            start = time.perf_counter()
            dst.copy_(src)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        return 2 * src.numel() / best
    src_np = np.ones(megabytes * 2**20, dtype=np.uint8)
    dst_np = np.empty_like(src_np)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        np.copyto(dst_np, src_np)
        best = min(best, time.perf_counter() - start)
    return 2 * src_np.nbytes / best


def decoder_weight_bytes(model: Any) -> int:
    """Bytes of the weights read per decoded token: everything but the vision tower and projector."""
    total = 0
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if "vision_tower" in name or "multi_modal_projector" in name:
            continue
        total += tensor.numel() * tensor.element_size()
    return total


def _inputs(loaded: Any) -> Any:
    from PIL import Image as PILImage

    from inference import prompts

    messages = (
        {
            "role": "user",
            "content": [
                prompts.IMAGE,
                {"type": "text", "text": prompts.llava_rad_instruction("shortness of breath")},
            ],
        },
    )
    request = prompts.PromptRequest("cxr-plain", messages, (), "prose")
    text = prompts.render(request, loaded.processor)
    image = PILImage.fromarray(np.full((336, 336, 3), 128, dtype=np.uint8))
    inputs = loaded.processor(images=[image], text=text, return_tensors="pt").to(loaded.model.device)
    inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
    return inputs


def _generate_seconds(loaded: Any, inputs: Any, new_tokens: int) -> float:
    import torch

    sync = torch.cuda.synchronize if loaded.device.startswith("cuda") else (lambda: None)
    sync()
    start = time.perf_counter()
    with torch.inference_mode():
        loaded.model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    sync()
    return time.perf_counter() - start


def per_token_seconds(loaded: Any, new_tokens: int, reps: int) -> tuple[float, float]:
    """(median seconds per decoded token, median prefill + first-token seconds)."""
    inputs = _inputs(loaded)
    _generate_seconds(loaded, inputs, 2)  # warm-up: kernels, caches
    decode, first = [], []
    for _ in range(reps):
        t1 = _generate_seconds(loaded, inputs, 1)
        tn = _generate_seconds(loaded, inputs, 1 + new_tokens)
        first.append(t1)
        decode.append(max(tn - t1, 0.0) / new_tokens)
    return statistics.median(decode), statistics.median(first)


def _peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _measure(model_dir: Path, quantization: str, device: str, new_tokens: int, reps: int) -> dict[str, Any]:
    """Load one mode and time it; returns the raw figures (the floor is added once bandwidth is known)."""
    import torch

    from inference.model_loading import load_model, resolve_model

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    loaded = load_model(resolve_model(str(model_dir)), quantization=quantization, device=device)
    weights = decoder_weight_bytes(loaded.model)
    decode_s, first_s = per_token_seconds(loaded, new_tokens, reps)
    peak = _peak_memory_mb(device)
    del loaded
    return {
        "decode_s": decode_s,
        "weights": weights,
        "reps": reps,
        "params": {
            "statistic": "median s/token",
            "tokens_per_s": 1.0 / decode_s if decode_s else None,
            "prefill_plus_first_token_s": first_s,
            "new_tokens": new_tokens,
            "weights_mb": weights / 2**20,
            "peak_memory_mb": peak,
            "peak_memory_kind": "torch.cuda.max_memory_allocated"
            if device.startswith("cuda")
            else "process max RSS",
            "device": _device_name(device),
            "dtype": loaded_dtype(quantization, device),
        },
    }


def loaded_dtype(quantization: str, device: str) -> str:
    """What the weights are stored as for a mode."""
    if quantization != "none":
        return {"8bit": "int8 (LLM.int8)", "4bit": "nf4 + double quant, bf16 compute"}[quantization]
    return "bfloat16" if device.startswith("cuda") else "float32"


def _device_name(device: str) -> str:
    import platform

    if device.startswith("cuda"):
        import torch

        return str(torch.cuda.get_device_name(0))
    return f"cpu ({platform.processor() or platform.machine()})"


def skipped(name: str, reason: str, **params: Any) -> dict[str, Any]:
    """A DESIGN §8 measure that was not taken, with the reason (no numbers)."""
    return {
        "name": name,
        "ours_s": None,
        "floor_s": None,
        "ratio": None,
        "n": 0,
        "params": {"skipped": reason, **params},
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Benchmark decoding at none/8bit/4bit on the available device (see module docstring)."""
    import torch

    from inference.tiny import LLAVA_7B, TINY, save_tiny_llava

    device = "cuda" if torch.cuda.is_available() else "cpu"
    shape, shape_name = (LLAVA_7B, "llava7b") if device == "cuda" else (TINY, "tiny")
    new_tokens, reps = (8, 2) if quick else (32, 5)
    raw: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="radreview-bench-") as tmp:
        model_dir = save_tiny_llava(
            Path(tmp) / shape_name, shape, device=device, dtype="bfloat16" if device == "cuda" else "float32"
        )
        for quantization in ("none", "8bit", "4bit"):
            if device == "cpu" and quantization != "none":
                out.append(
                    skipped(
                        f"generate.decode_{shape_name}_{quantization}",
                        f"{quantization} needs a CUDA GPU (bitsandbytes); none on this machine",
                        device=_device_name(device),
                    )
                )
                continue
            raw[f"generate.decode_{shape_name}_{quantization}"] = _measure(
                model_dir, quantization, device, new_tokens, reps
            )
    # after the models: the copy buffers must not inflate the CPU peak-RSS figure above
    bandwidth = bandwidth_bytes_per_s(device, megabytes=128 if quick else 1024)
    measured = [
        result(
            name,
            m["decode_s"],
            m["weights"] / bandwidth,
            m["reps"],
            bandwidth_gb_s=bandwidth / 1e9,
            **m["params"],
        )
        for name, m in raw.items()
    ]
    return measured + out
