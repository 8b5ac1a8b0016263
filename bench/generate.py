"""``radreview bench generate``: decode speed, draft latency, batch throughput and memory of the ``hf`` path.

Every figure stands beside a floor measured in the same run (DESIGN §8):

* **bandwidth** — the best of several large device-to-device copies, counted as bytes read + written
  (on the CPU, a ``numpy`` copy).
* **decode** (``generate.decode_<shape>_<mode>``) — seconds per decoded token at batch 1: the median
  over repetitions of ``(t(1 + N new tokens) − t(1 new token)) / N``, which removes the prompt pass.
  Floor: the bytes of the language-model weights (everything read per token: every layer, norms,
  embeddings, ``lm_head``; not the vision tower or projector) ÷ bandwidth. ``params`` adds tokens/s,
  % of the floor, the speed relative to bf16 in the same run and the peak memory while decoding.
* **draft** (``generate.draft120_<shape>_<mode>``) — a ~120-token CXR draft end to end through
  :class:`~inference.generators.hf.HFGenerator` (prompt, preprocessing, generation, parsing), heat
  maps off; the run forces exactly 120 new tokens with ``min_new_tokens`` so the figure does not
  depend on where a random model emits its end token. Floor: 120 × the decode floor.
* **batch** (``generate.batch<n>_<shape>_<mode>``) — tokens/s at batch 1, 4 and 8 (the same prompt n
  times, the batched path's left padding), as seconds per generated token; floor: the decode floor ÷ n
  (one pass over the weights serves the whole batch). ``params.speedup_vs_batch1`` is the throughput
  ratio.

Modes: ``none`` (bf16 on CUDA, float32 on the CPU), ``8bit`` (bitsandbytes LLM.int8), ``4bit``
(bitsandbytes NF4 + double quant, bf16 compute — what ``--quantization 4bit`` loads) and
``torchao-int4`` (torchao ``Int4WeightOnlyConfig``, group 128, tile-packed for the tinygemm kernel,
loaded through transformers' ``TorchAoConfig``), measured side by side. A mode that cannot run here
(no CUDA, a missing package) is reported as skipped with the reason, never with numbers from
another configuration.

On CUDA the model is a randomly initialised 7B LLaVA in the real layout (Vicuna-7B + CLIP ViT-L/336,
:data:`inference.tiny.LLAVA_7B`), built on the GPU and saved once; on the CPU (or with ``--tiny``) the
tiny test model. :func:`goals` checks the figures against issue 14's goals. ``python -m
bench.generate --help`` runs it with options (model folder to reuse, modes, time budget, output file);
``tools/gpu_check.sh`` runs it on the GPU machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np

from bench.common import result

MODES: tuple[str, ...] = ("none", "8bit", "4bit", "torchao-int4")
BATCH_SIZES: tuple[int, ...] = (1, 4, 8)
DRAFT_TOKENS = 120
GOALS = {
    "4bit_pct_of_floor": 15.0,  # % of the weight-bandwidth floor at batch 1
    "4bit_vs_bf16": 1.0,  # decode tokens/s relative to bf16, same run
    "4bit_vram_gb": 6.0,
    "draft120_s": 3.0,
    "batch8_vs_batch1": 5.0,
}


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


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _device_name(device: str) -> str:
    import platform

    if device.startswith("cuda"):
        import torch

        return str(torch.cuda.get_device_name(0))
    return f"cpu ({platform.processor() or platform.machine()})"


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


def _free(device: str) -> None:
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


# -- measures -----------------------------------------------------------------------------------


def measure_decode(loaded: Any, mode: str, new_tokens: int, reps: int) -> dict[str, Any]:
    """Raw batch-1 decode figures of a loaded model (the floor is added once bandwidth is known)."""
    weights = decoder_weight_bytes(loaded.model)
    _reset_peak(loaded.device)
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
            "device": _device_name(loaded.device),
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


def _mode_measures(
    shape: str, mode: str, raw: dict[str, Any], bandwidth: float, bf16_tps: float | None, device: str
) -> list[dict[str, Any]]:
    """DESIGN §8 measures of one mode from its raw figures and the run's bandwidth."""
    floor = raw["decode"]["weights"] / bandwidth
    decode = raw["decode"]
    tps = decode["params"]["tokens_per_s"]
    out = [
        result(
            f"generate.decode_{shape}_{mode}",
            decode["decode_s"],
            floor,
            decode["reps"],
            bandwidth_gb_s=bandwidth / 1e9,
            pct_of_floor=100 * floor / decode["decode_s"] if decode["decode_s"] > 0 else None,
            vs_bf16=(tps / bf16_tps) if bf16_tps and tps else None,
            **decode["params"],
        )
    ]
    if "draft" in raw:
        d = raw["draft"]
        out.append(
            result(
                f"generate.draft{d['tokens']}_{shape}_{mode}",
                d["draft_s"],
                d["tokens"] * floor,
                d["reps"],
                statistic="median s per draft (HFGenerator.generate, heat maps off)",
                new_tokens=d["tokens"],
                findings=d["findings"],
                device=_device_name(device),
            )
        )
    batches = raw.get("batches", {})
    base = batches.get(1)
    for n, step_s in sorted(batches.items()):
        out.append(
            result(
                f"generate.batch{n}_{shape}_{mode}",
                step_s / n,
                floor / n,
                raw.get("batch_reps", raw["decode"]["reps"]),
                statistic="median s per generated token (decode step ÷ batch)",
                batch=n,
                tokens_per_s=n / step_s if step_s > 0 else None,
                speedup_vs_batch1=(base / step_s * n) if base and step_s > 0 else None,
                device=_device_name(device),
            )
        )
    return out


def goals(measures: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 14's goals checked against the measures (the best 4-bit path counts for the 4-bit goals).

    Only 7B measures count (the goals are about a 7B model on a GPU): on a tiny-model run every value
    is ``None``.

    Returns:
        One ``{"goal", "target", "value", "met", "measure"}`` per goal; ``value``/``met`` are ``None``
        when the figure was not measured.
    """
    by_name = {m["name"]: m for m in measures if m.get("ours_s") is not None and "_llava7b_" in m["name"]}

    def find(prefix: str, mode: str) -> dict[str, Any] | None:
        return next((m for n, m in by_name.items() if n.startswith(prefix) and n.endswith(f"_{mode}")), None)

    four = [m for mode in ("4bit", "torchao-int4") if (m := find("generate.decode_", mode))]
    best4 = max(four, key=lambda m: m["params"]["tokens_per_s"], default=None)
    best_mode = best4["name"].rsplit("_", 1)[-1] if best4 else None
    draft = find(f"generate.draft{DRAFT_TOKENS}_", best_mode) if best_mode else None
    draft = draft or find(f"generate.draft{DRAFT_TOKENS}_", "none")
    batch8 = find("generate.batch8_", best_mode) if best_mode else None
    batch8 = batch8 or find("generate.batch8_", "none")

    def goal(
        name: str, value: float | None, target: float, higher: bool, measure: dict[str, Any] | None
    ) -> dict[str, Any]:
        met = None if value is None else (value >= target if higher else value <= target)
        return {
            "goal": name,
            "target": f"{'≥' if higher else '≤'} {target:g}",
            "value": value,
            "met": met,
            "measure": measure["name"] if measure else None,
        }

    p = best4["params"] if best4 else {}
    on_gpu = str(p.get("peak_memory_kind", "")).startswith("torch.cuda")
    return [
        goal(
            "4-bit decode, % of the weight-bandwidth floor (batch 1)",
            p.get("pct_of_floor"),
            GOALS["4bit_pct_of_floor"],
            True,
            best4,
        ),
        goal("4-bit decode tokens/s ÷ bf16 tokens/s", p.get("vs_bf16"), GOALS["4bit_vs_bf16"], True, best4),
        goal(
            "4-bit peak GPU memory while decoding, GB",
            p["peak_memory_mb"] / 1024 if on_gpu else None,
            GOALS["4bit_vram_gb"],
            False,
            best4,
        ),
        goal(
            f"~{DRAFT_TOKENS}-token CXR draft, s",
            draft["ours_s"] if draft else None,
            GOALS["draft120_s"],
            False,
            draft,
        ),
        goal(
            "batch 8 tokens/s ÷ batch 1 tokens/s",
            batch8["params"]["speedup_vs_batch1"] if batch8 else None,
            GOALS["batch8_vs_batch1"],
            True,
            batch8,
        ),
    ]


# -- the run ------------------------------------------------------------------------------------


def build_model(directory: Path, *, tiny: bool, device: str) -> Path:
    """Save the benchmark model (7B LLaVA layout on CUDA, tiny otherwise) to ``directory``."""
    from inference.tiny import LLAVA_7B, TINY, save_tiny_llava

    path = save_tiny_llava(
        directory,
        TINY if tiny else LLAVA_7B,
        device=device,
        dtype="float32" if device == "cpu" else "bfloat16",
    )
    _free(device)
    return path


def run(
    quick: bool = False,
    *,
    tiny: bool | None = None,
    model_dir: Path | None = None,
    modes: Sequence[str] = MODES,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    batch_modes: Sequence[str] = ("none", "4bit", "torchao-int4"),
    draft_tokens: int = DRAFT_TOKENS,
    budget_s: float | None = None,
    log: Callable[[str], None] | None = None,
    checkpoint: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Benchmark every mode on the available device (see the module docstring).

    Args:
        quick: Fewer tokens and repetitions (smoke tests).
        tiny: Use the tiny model; default: on the CPU only.
        model_dir: A saved model to reuse (default: build one in a temporary folder).
        modes: Modes to measure, in order; bf16 (``none``) first gives the ``vs_bf16`` ratios.
        batch_sizes: Batch sizes of the throughput measures.
        batch_modes: Modes whose batch throughput is measured.
        draft_tokens: Length of the draft-latency measure (0: none).
        budget_s: Start no new mode once this many seconds have passed (each later mode is reported
            as skipped with the reason).
        log: Progress lines (default: stderr).
        checkpoint: On CUDA, called with the measures so far after each mode (a run killed by an outer
            time limit still leaves its finished modes behind).
    """
    import torch

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    started = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tiny = (device == "cpu") if tiny is None else tiny
    shape = "tiny" if tiny else "llava7b"
    new_tokens, reps = (8, 2) if quick else (32, 3)
    draft_reps = 1 if quick else 2
    raw: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    # On the GPU the bandwidth comes first (checkpoints need the floor); on the CPU last, so the copy
    # buffers do not inflate the peak-RSS figures of the models.
    bandwidth = (
        bandwidth_bytes_per_s(device, megabytes=4096 if not quick else 512) if device == "cuda" else None
    )

    def measured() -> list[dict[str, Any]]:
        assert bandwidth is not None
        bf16 = raw.get("none", {}).get("decode", {}).get("params", {}).get("tokens_per_s")
        return [m for mode, r in raw.items() for m in _mode_measures(shape, mode, r, bandwidth, bf16, device)]

    with tempfile.TemporaryDirectory(prefix="radreview-bench-") as tmp:
        if model_dir is None:
            log(f"bench generate: building the {shape} model on {device}")
            model_dir = build_model(Path(tmp) / shape, tiny=tiny, device=device)
        for mode in modes:
            name = f"generate.decode_{shape}_{mode}"
            reason = why_not(mode, device)
            if reason is None and budget_s is not None and time.perf_counter() - started > budget_s:
                reason = f"time budget of {budget_s:.0f} s spent before this mode"
            if reason is not None:
                out.append(skipped(name, reason, device=_device_name(device)))
                continue
            log(f"bench generate: {mode}: loading")
            try:
                raw[mode] = _measure_mode(
                    model_dir,
                    mode,
                    device,
                    new_tokens,
                    reps,
                    draft_tokens,
                    draft_reps,
                    batch_sizes if mode in batch_modes else (),
                    log,
                )
            except Exception as exc:  # a mode that fails (a kernel missing for this GPU…) is reported
                reason = f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                out.append(skipped(name, reason, device=_device_name(device)))
                log(f"bench generate: {mode}: {reason}")
            _free(device)
            if checkpoint is not None and bandwidth is not None:
                checkpoint(measured() + out)
    if bandwidth is None:
        bandwidth = bandwidth_bytes_per_s(device, megabytes=128)
    return measured() + out


def _measure_mode(
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
    _reset_peak(device)
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.generate``: run with options, write the measures and goals as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny test model even on a GPU")
    parser.add_argument("--quick", action="store_true", help="fewer tokens and repetitions")
    parser.add_argument("--model-dir", type=Path, help="a saved model to reuse (see --build)")
    parser.add_argument("--build", type=Path, metavar="DIR", help="only build and save the model to DIR")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, from {', '.join(MODES)}")
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    parser.add_argument("--draft-tokens", type=int, default=DRAFT_TOKENS)
    parser.add_argument(
        "--budget-s", type=float, default=None, help="start no new mode after this many seconds"
    )
    parser.add_argument("--out", type=Path, help="write {measures, goals} JSON here (default: stdout)")
    args = parser.parse_args(argv)
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}")
    if args.build:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        print(build_model(args.build, tiny=args.tiny or device == "cpu", device=device))
        return 0

    def write(measures: list[dict[str, Any]]) -> None:
        text = json.dumps({"measures": measures, "goals": goals(measures)}, indent=1, allow_nan=False)
        if args.out:
            args.out.write_text(text + "\n")
        else:
            print(text)

    measures = run(
        args.quick,
        tiny=True if args.tiny else None,
        model_dir=args.model_dir,
        modes=args.modes.split(","),
        batch_sizes=[int(n) for n in args.batch_sizes.split(",")],
        draft_tokens=args.draft_tokens,
        budget_s=args.budget_s,
        checkpoint=write if args.out else None,
    )
    write(measures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
