"""``radreview models [--json]``: every model adapter, what it needs, and which local weights were found."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``models`` subcommand."""
    p = subparsers.add_parser(
        "models", help="list the seed-model adapters: inputs, VRAM, installed packages, local weights"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def describe_all() -> dict[str, Any]:
    """``{"models": [adapter description, …], "vram_formula": …}`` (no download, no heavy import)."""
    from inference.models import base
    from inference.models.registry import adapters

    return {
        "models": [a.describe() for a in adapters().values()],
        "vram_formula": (
            f"params_billion * bytes_per_param{base.BYTES_PER_PARAM} * {base.VRAM_FACTOR} "
            f"+ {base.VRAM_OVERHEAD_GB} GB"
        ),
        "search_paths": {
            "hf_cache": [str(p) for p in base.hf_cache_dirs()],
            base.MODELS_ENV: [str(p) for p in base.model_roots()],
        },
    }


def _line(m: dict[str, Any]) -> str:
    state = (
        "installed" if m["installed"] else "missing " + ",".join(k for k, ok in m["needs"].items() if not ok)
    )
    vram = "/".join(f"{m['vram_gb'][q]:g}" for q in ("none", "8bit", "4bit"))
    weights = ", ".join(m["local_weights"]) or "no local weights"
    return f"{m['name']:<10} {state:<28} VRAM {vram} GB  inputs {','.join(m['inputs'])}\n    {weights}"


def run(args: argparse.Namespace) -> int:
    """Print the adapters (a table, or one JSON object with ``--json``)."""
    info = describe_all()
    if args.json:
        print(json.dumps(info))
        return 0
    print("name       state                        VRAM none/8bit/4bit")
    for m in info["models"]:
        print(_line(m))
        if m["install_hint"]:
            print(f"    install: {m['install_hint']}")
    print(f"VRAM estimate: {info['vram_formula']}")
    return 0
