"""``radreview bench [NAME ...] [--json]`` (also ``python -m bench``): run benchmarks (DESIGN §8).

``radreview`` finds this sub-command through the ``radreview.commands`` entry point of the installed
distribution (``pyproject.toml``), so ``app`` never imports ``bench``: benchmarks sit above the app.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from app.errors import CliError
from viewer.names import unknown_name

_NOT_BENCHMARKS = frozenset({"command", "common", "report"})


def available() -> list[str]:
    """Names of the benchmark modules (``bench/<name>.py`` with a ``run`` function)."""
    import bench

    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                  if m.name not in _NOT_BENCHMARKS and not m.name.startswith("_"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``bench``, shared by ``radreview bench`` and ``python -m bench``."""
    p.add_argument("names", nargs="*", default=["all"], help="benchmark names, or 'all'")
    p.add_argument("--json", action="store_true", help="print one JSON object per measure")
    p.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    p.set_defaults(func=run)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``bench`` subcommand."""
    parser = subparsers.add_parser("bench", help="run benchmarks; figures are ratios to a same-run floor")
    add_arguments(parser)


def _print(measure: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(measure), flush=True)
    elif measure["ours_s"] is None:  # a measure not taken here, e.g. 4-bit without CUDA
        print(f"{measure['name']:<44} skipped: {measure['params'].get('skipped', '')}", flush=True)
    else:
        print(f"{measure['name']:<44} ours {measure['ours_s']*1e3:9.2f} ms  "
              f"floor {measure['floor_s']*1e3:9.2f} ms  ratio {measure['ratio']:6.2f}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the named benchmarks and print their measures."""
    names = available() if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in available()]
    if unknown:
        raise CliError(unknown_name("benchmark", unknown[0], available()), 2)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        for measure in module.run(quick=args.quick):
            _print(measure, args.json)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench``: the same command, without the ``radreview`` front end."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run radreview's benchmarks.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
