"""The reporting half of ``radreview bench generate`` (:mod:`bench.generate`): raw figures to DESIGN §8
measures, skipped measures, and issue 14's goals checked against them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def device_name(device: str) -> str:
    """The device's model name (CUDA) or the CPU's, for the measures' ``params``."""
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
                device=device_name(device),
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
                device=device_name(device),
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
