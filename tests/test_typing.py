"""``mypy --strict`` over the five packages, as part of the test run (issue 16: typed seams everywhere).

mypy runs once per session through :func:`mypy.api.run` over all five packages (it follows imports
across them anyway); each package's test then fails on the errors reported in its own files. The cache
lives in the system temp directory, keyed by the mypy version: a cold run costs about a minute of CPU
(two minutes wall on a loaded 2-core machine), a warm one a few seconds. Per-module relaxations are in
``pyproject.toml`` (``[[tool.mypy.overrides]]``), never here.
"""

from __future__ import annotations

import re
import tempfile
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("viewer", "inference", "storage", "app", "bench")
_ERROR = re.compile(r"^(?P<path>[^:\s]+\.pyi?):\d+(?::\d+)?: error: ", re.MULTILINE)


@cache
def _strict_errors() -> tuple[str, ...]:
    """The error lines of one ``mypy --strict`` run over :data:`PACKAGES` (run from the repository root)."""
    from mypy import api
    from mypy.version import __version__

    cache_dir = Path(tempfile.gettempdir()) / f"radreview-mypy-{__version__}"
    args = ["--strict", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache_dir),
            *(str(ROOT / name) for name in PACKAGES)]
    stdout, stderr, status = api.run(args)
    if status not in (0, 1):  # 2: mypy itself failed (bad flag, crash) — not a list of type errors
        pytest.fail(f"mypy exited {status}:\n{stderr}{stdout}")
    return tuple(line.group(0) + stdout[line.end():].split("\n", 1)[0] for line in _ERROR.finditer(stdout))


def _package_of(error: str) -> str:
    """The top-level directory (under the repository root) of the file an error line names."""
    path = (Path.cwd() / error.split(":", 1)[0]).resolve()
    return path.relative_to(ROOT).parts[0] if path.is_relative_to(ROOT) else str(path)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_is_mypy_strict_clean(package: str) -> None:
    """No ``mypy --strict`` error in the package's own files."""
    errors = [e for e in _strict_errors() if _package_of(e) == package]
    assert not errors, f"mypy --strict: {len(errors)} errors in {package}/:\n" + "\n".join(errors)
