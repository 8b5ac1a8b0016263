"""The measuring half of ``radreview bench generate`` (:mod:`bench.generate`): the floors (copy bandwidth,
weight bytes), building and loading the model per mode, and the timed decode, draft and batch runs."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np

from bench._generate_report import device_name

# -- floors -------------------------------------------------------------------------------------


def bandwidth_bytes_per_s(device: str, megabytes: int = 512, reps: int = 5) -> float:
    """Memory bandwidth from the best of ``reps`` copies of a ``megabytes`` buffer (read + write bytes)."""
    if device.startswith("cuda"):
        import torch

        src = torch.empty(megabytes * 2**20, dtype=torch.uint8, device=device)
        dst = torch.empty_like(src)
        dst.copy_(src)  # warm-up
        best = float("inf")
        for _ in range(reps):
            torch.cuda.synchronize()
            start = time.perf_counter()
            dst.copy_(src)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        del src, dst
        torch.cuda.empty_cache()
        return 2 * megabytes * 2**20 / best
    src_np = np.ones(megabytes * 2**20, dtype=np.uint8)
    dst_np = np.empty_like(src_np)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        np.copyto(dst_np, src_np)
        best = min(best, time.perf_counter() - start)
    return 2 * src_np.nbytes / best


def tensor_bytes(tensor: Any) -> int:
    """Bytes a (possibly quantized) tensor occupies: packed data plus its quantization constants.

    Tensor subclasses (torchao) are summed over their inner tensors (``__tensor_flatten__``);
    bitsandbytes 4-bit parameters add their ``quant_state`` (absmax, nested absmax and code), 8-bit
    ones their ``SCB`` scales.
    """
    flatten = getattr(type(tensor), "__tensor_flatten__", None)
    if flatten is not None and type(tensor).__name__ not in ("Parameter", "Tensor"):
        try:
            names, _ = tensor.__tensor_flatten__()
        except Exception:  # not a wrapper subclass after all
            names = []
        if names:
            return sum(tensor_bytes(getattr(tensor, n)) for n in names)
    total = int(tensor.numel() * tensor.element_size())
    state = getattr(tensor, "quant_state", None)
    for inner in (state, getattr(state, "state2", None)):
        for attr in ("absmax", "code"):
            value = getattr(inner, attr, None)
            if value is not None and hasattr(value, "element_size"):
                total += int(value.numel() * value.element_size())
    scb = getattr(tensor, "SCB", None)
    if scb is not None and hasattr(scb, "element_size"):
        total += int(scb.numel() * scb.element_size())
    return total


def decoder_weight_bytes(model: Any) -> int:
    """Bytes of the weights read per decoded token: everything but the vision tower and projector."""
    total = 0
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if "vision_tower" in name or "multi_modal_projector" in name:
            continue
        total += tensor_bytes(tensor)
    return total


# -- timing -------------------------------------------------------------------------------------


def _inputs(loaded: Any, batch: int = 1) -> Any:
    """The LLaVA-Rad CXR prompt with one mid-grey image, ``batch`` times (left-padded like the batch path)."""
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
    size = getattr(getattr(loaded.model.config, "vision_config", None), "image_size", 336)
    image = PILImage.fromarray(np.full((size, size, 3), 128, dtype=np.uint8))
    inputs = loaded.processor(
        images=[image] * batch, text=[text] * batch, return_tensors="pt", padding=True, padding_side="left"
    ).to(loaded.model.device)
    inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
    return inputs


def _sync(device: str) -> Callable[[], None]:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None


def _generate_seconds(loaded: Any, inputs: Any, new_tokens: int) -> float:
    import torch

    sync = _sync(loaded.device)
    sync()
    start = time.perf_counter()
    with torch.inference_mode():
        loaded.model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    sync()
    return time.perf_counter() - start


def per_token_seconds(loaded: Any, new_tokens: int, reps: int, batch: int = 1) -> tuple[float, float]:
    """(median seconds per decode step, median prefill + first-token seconds) at ``batch``."""
    inputs = _inputs(loaded, batch)
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


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def loaded_dtype(quantization: str, device: str) -> str:
    """What the weights are stored as for a mode."""
    return {
        "8bit": "int8 (LLM.int8)",
        "4bit": "nf4 + double quant, bf16 compute",
        "torchao-int4": "int4 weight-only, group 128, tinygemm tile-packed, bf16 compute",
    }.get(quantization, "bfloat16" if device.startswith("cuda") else "float32")


# -- loading ------------------------------------------------------------------------------------


def why_not(mode: str, device: str) -> str | None:
    """Why ``mode`` cannot run on ``device`` (``None`` when it can)."""
    import importlib.util

    if mode == "none":
        return None
    if not device.startswith("cuda"):
        return f"{mode} needs a CUDA GPU; none on this machine"
    needed = ("torchao",) if mode == "torchao-int4" else ("bitsandbytes", "accelerate")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        return f"{mode} needs {', '.join(missing)} (pip install {' '.join(missing)}); not installed"
    return None


def load(model_dir: Path, mode: str, device: str) -> Any:
    """Load ``model_dir`` in ``mode`` through the ``hf`` loader (torchao through ``TorchAoConfig``)."""
    from inference.model_loading import load_model, resolve_model

    if mode != "torchao-int4":
        return load_model(resolve_model(str(model_dir)), quantization=mode, device=device)
    import torch
    from torchao.quantization import Int4WeightOnlyConfig
    from transformers import AutoModelForImageTextToText, AutoProcessor, TorchAoConfig

    from inference.model_loading import LoadedModel

    config = TorchAoConfig(
        quant_type=Int4WeightOnlyConfig(group_size=128, int4_packing_format="tile_packed_to_4d")
    )
    processor = cast(Any, AutoProcessor).from_pretrained(model_dir, local_files_only=True)
    model = cast(Any, AutoModelForImageTextToText).from_pretrained(
        model_dir,
        dtype=torch.bfloat16,
        quantization_config=config,
        device_map={"": device},
        local_files_only=True,
    ).eval()
    return LoadedModel(model, processor, device, "bfloat16", None)


def free(device: str) -> None:
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


# -- measures -----------------------------------------------------------------------------------


def measure_decode(loaded: Any, mode: str, new_tokens: int, reps: int) -> dict[str, Any]:
    """Raw batch-1 decode figures of a loaded model (the floor is added once bandwidth is known)."""
    weights = decoder_weight_bytes(loaded.model)
    reset_peak(loaded.device)
    decode_s, first_s = per_token_seconds(loaded, new_tokens, reps)
    footprint = getattr(loaded.model, "get_memory_footprint", lambda: 0)()
    return {
        "decode_s": decode_s,
        "weights": weights,
        "reps": reps,
        "params": {
            "statistic": "median s/token, batch 1",
            "tokens_per_s": 1.0 / decode_s if decode_s else None,
            "prefill_plus_first_token_s": first_s,
            "new_tokens": new_tokens,
            "weights_mb": weights / 2**20,
            "peak_memory_mb": _peak_memory_mb(loaded.device),
            "peak_memory_kind": "torch.cuda.max_memory_allocated while decoding"
            if loaded.device.startswith("cuda")
            else "process max RSS",
            "model_footprint_mb": footprint / 2**20,
            "device": device_name(loaded.device),
            "dtype": loaded_dtype(mode, loaded.device),
        },
    }


def _cxr_study(size: int) -> Any:
    from viewer.records import Image, Study

    rng = np.random.default_rng(0)
    image = Image(
        pixels=(rng.random((size, size)) * 4000).astype(np.float32),
        spacing_mm=(0.7, 0.7),
        affine=np.eye(4),
        modality="DX",
        photometric="MONOCHROME2",
        default_window=None,
        source="bench.png",
        sha256="b" * 64,
        view="PA",
    )
    return Study("bench", "cxr", (image,), indication="shortness of breath")


@contextmanager
def _forced_length(loaded: Any, tokens: int) -> Iterator[None]:
    """Make every ``generate`` call of ``loaded`` produce exactly ``tokens`` new tokens."""
    config = loaded.model.generation_config
    previous = getattr(config, "min_new_tokens", None)
    config.min_new_tokens = tokens
    try:
        yield
    finally:
        config.min_new_tokens = previous


def measure_draft(loaded: Any, model_dir: Path, mode: str, tokens: int, reps: int) -> dict[str, Any]:
    """A ``tokens``-token CXR draft end to end through ``HFGenerator.generate`` (the loaded model reused)."""
    from inference.generators.hf import HFGenerator

    generator = HFGenerator(
        str(model_dir), device=loaded.device, mode="cxr-plain", attention_maps=False, max_new_tokens=tokens
    )
    generator._loaded = loaded  # reuse the loaded weights (the bench's own load, same mode)
    study = _cxr_study(512)
    times = []
    with _forced_length(loaded, tokens):
        generator.generate(study, {})  # warm-up
        for _ in range(reps):
            sync = _sync(loaded.device)
            sync()
            start = time.perf_counter()
            draft = generator.generate(study, {})
            sync()
            times.append(time.perf_counter() - start)
    return {
        "draft_s": statistics.median(times),
        "reps": reps,
        "tokens": tokens,
        "findings": len(draft.findings),
    }


def measure_batches(loaded: Any, sizes: Sequence[int], new_tokens: int, reps: int) -> dict[int, float]:
    """Median seconds per decode step at each batch size."""
    return {n: per_token_seconds(loaded, new_tokens, reps, batch=n)[0] for n in sizes}


def build_model(directory: Path, *, tiny: bool, device: str) -> Path:
    """Save the benchmark model (7B LLaVA layout on CUDA, tiny otherwise) to ``directory``."""
    from inference.tiny import LLAVA_7B, TINY, save_tiny_llava

    path = save_tiny_llava(
        directory,
        TINY if tiny else LLAVA_7B,
        device=device,
        dtype="float32" if device == "cpu" else "bfloat16",
    )
    free(device)
    return path


def measure_mode(
    model_dir: Path,
    mode: str,
    device: str,
    new_tokens: int,
    reps: int,
    draft_tokens: int,
    draft_reps: int,
    batch_sizes: Sequence[int],
    log: Callable[[str], None],
) -> dict[str, Any]:
    reset_peak(device)
    start = time.perf_counter()
    loaded = load(model_dir, mode, device)
    load_s = time.perf_counter() - start
    log(f"bench generate: {mode}: loaded in {load_s:.1f} s; decoding")
    raw: dict[str, Any] = {"decode": measure_decode(loaded, mode, new_tokens, reps)}
    raw["decode"]["params"]["load_s"] = load_s
    if draft_tokens:
        raw["draft"] = measure_draft(loaded, model_dir, mode, draft_tokens, draft_reps)
    if batch_sizes:
        log(f"bench generate: {mode}: batches {list(batch_sizes)}")
        raw["batch_reps"] = max(1, reps // 2)
        raw["batches"] = measure_batches(loaded, batch_sizes, new_tokens, raw["batch_reps"])
    del loaded
    return raw
