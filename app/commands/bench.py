"""``radreview bench [NAME ...] [--json]``: run benchmarks from the ``bench`` package (DESIGN §8)."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil

from app.errors import CliError


def available() -> list[str]:
    """Names of the benchmark modules (``bench/<name>.py`` with a ``run`` function)."""
    import bench

    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                  if m.name not in {"common", "report"} and not m.name.startswith("_"))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``bench`` subcommand."""
    p = subparsers.add_parser("bench", help="run benchmarks; figures are ratios to a same-run floor")
    p.add_argument("names", nargs="*", default=["all"], help="benchmark names, or 'all'")
    p.add_argument("--json", action="store_true", help="print one JSON object per measure")
    p.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the named benchmarks and print their measures."""
    names = available() if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in available()]
    if unknown:
        raise CliError(f"unknown benchmark {unknown[0]!r}; available: {', '.join(available())}", 2)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        for measure in module.run(quick=args.quick):
            if args.json:
                print(json.dumps(measure), flush=True)
            elif measure["ours_s"] is None:  # a measure not taken here, e.g. 4-bit without CUDA
                print(f"{measure['name']:<44} skipped: {measure['params'].get('skipped', '')}", flush=True)
            else:
                print(f"{measure['name']:<44} ours {measure['ours_s']*1e3:9.2f} ms  "
                      f"floor {measure['floor_s']*1e3:9.2f} ms  ratio {measure['ratio']:6.2f}", flush=True)
    return 0
