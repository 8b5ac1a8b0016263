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
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._generate_measure import (
    bandwidth_bytes_per_s,
    build_model,
    decoder_weight_bytes,
    free,
    load,
    measure_batches,
    measure_decode,
    measure_draft,
    measure_mode,
    tensor_bytes,
    why_not,
)
from bench._generate_report import (
    BATCH_SIZES,
    DRAFT_TOKENS,
    MODES,
    _mode_measures,
    device_name,
    goals,
    skipped,
)

__all__ = [
    "bandwidth_bytes_per_s", "build_model", "decoder_weight_bytes", "goals", "load", "main",
    "measure_batches", "measure_decode", "measure_draft", "run", "skipped", "tensor_bytes", "why_not",
]


# -- the run ------------------------------------------------------------------------------------


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
                out.append(skipped(name, reason, device=device_name(device)))
                continue
            log(f"bench generate: {mode}: loading")
            try:
                raw[mode] = measure_mode(
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
                out.append(skipped(name, reason, device=device_name(device)))
                log(f"bench generate: {mode}: {reason}")
            free(device)
            if checkpoint is not None and bandwidth is not None:
                checkpoint(measured() + out)
    if bandwidth is None:
        bandwidth = bandwidth_bytes_per_s(device, megabytes=128)
    return measured() + out


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
