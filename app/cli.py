"""radreview: review AI-drafted, grounded CXR and CT reports; every decision becomes training data.

The command line (DESIGN §7). Each subcommand lives in its own module under ``app.commands`` and exposes
``register(subparsers)`` and ``run(args) -> int``; modules are discovered, not listed here. Packages that
sit above ``app`` (``bench``) add theirs through the ``radreview.commands`` entry point group of the
installed distribution, so ``app`` never imports them.
Errors become one ``error:`` line on stderr and the exit code of DESIGN §7:
0 success, 2 usage, 3 unreadable input, 4 missing backend or extra.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

from app.errors import CliError

EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_MISSING = 0, 2, 3, 4
ENTRY_POINT_GROUP = "radreview.commands"
"""Entry points ``NAME = "package.module"`` naming more sub-command modules (``register``/``run``)."""


def _plugin_modules() -> list[ModuleType]:
    """The sub-command modules named by installed ``radreview.commands`` entry points, by name.

    A module that cannot be imported (an entry point left by an older install) is left out.
    """
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    modules = []
    for name in sorted(found):
        try:
            modules.append(importlib.import_module(found[name]))
        except ImportError:
            continue
    return modules


def _command_modules() -> list[ModuleType]:
    import app.commands as pkg

    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"app.commands.{name}") for name in names] + _plugin_modules()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(prog="radreview", description=__doc__.splitlines()[0])
    from app import __version__

    parser.add_argument("--version", action="version", version=f"radreview {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules():
        module.register(subparsers)
    return parser


def _exit_code_for(exc: BaseException) -> tuple[int, str]:
    from viewer.errors import MissingExtraError, StudyLoadError

    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, StudyLoadError):
        return EXIT_INPUT, str(exc)
    if isinstance(exc, MissingExtraError):
        return EXIT_MISSING, str(exc)
    code = getattr(exc, "exit_code", None)  # backend errors that know their exit code (DESIGN §7)
    if isinstance(code, int) and code in (EXIT_USAGE, EXIT_INPUT, EXIT_MISSING):
        return code, str(exc)
    first_line = (str(exc).splitlines() or [""])[0]
    return 1, f"internal error: {type(exc).__name__}: {first_line} (set RADREVIEW_DEBUG=1 for a traceback)"


def _run_quietly(args: argparse.Namespace) -> int:
    """Run a one-shot command holding back library warnings (pydicom's, on a bad file, would precede
    the single ``error:`` line): shown as one ``warning:`` line each only when the command succeeds."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        code = int(args.func(args) or 0)
    if code == 0:
        for message in dict.fromkeys(str(w.message).splitlines()[0] for w in caught if str(w.message)):
            print(f"warning: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when ``None``.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve" or os.environ.get("RADREVIEW_DEBUG"):
            return int(args.func(args) or 0)
        return _run_quietly(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI must never show a traceback
        if os.environ.get("RADREVIEW_DEBUG"):
            raise
        code, message = _exit_code_for(exc)
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
