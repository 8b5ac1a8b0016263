"""Golden files: one check, and one explicit way to rewrite them that CI refuses.

``check_golden(path, produced)`` asserts that ``produced`` equals the golden file's text. Golden files
change only through ``python -m pytest --update-golden TESTS…`` (registered in ``tests/conftest.py``):
it rewrites each golden file its tests produce, then the tests compare as usual; review the diff before
committing, every number in them is a measurement. With the ``CI`` environment variable set (to
anything), pytest refuses ``--update-golden`` (exit code 4), so a CI run can never accept new output.
No environment variable changes what a golden test accepts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

OPTION = "--update-golden"


class _Mode:
    """Whether this pytest run rewrites golden files (set once, by :func:`configure`)."""

    update = False


def add_option(parser: pytest.Parser) -> None:
    """Register ``--update-golden`` (from ``pytest_addoption``)."""
    parser.addoption(OPTION, action="store_true", default=False,
                     help="rewrite the golden files the selected tests produce (refused when CI is set)")


def configure(config: pytest.Config) -> None:
    """Turn updating on for ``--update-golden`` (from ``pytest_configure``).

    Raises:
        pytest.UsageError: ``--update-golden`` with the ``CI`` environment variable set.
    """
    wanted = bool(config.getoption(OPTION))
    if wanted and "CI" in os.environ:
        raise pytest.UsageError(f"{OPTION} rewrites golden files and is refused when CI is set "
                                f"(CI={os.environ['CI']!r}); run it on a development machine, review "
                                "and commit the diff")
    _Mode.update = wanted


def check_golden(path: Path, produced: str) -> None:
    """Assert that ``produced`` is the golden file's text (under ``--update-golden``, rewrite it first).

    Args:
        path: The golden file (UTF-8 text).
        produced: What the code under test produced now.
    """
    if _Mode.update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(produced, encoding="utf-8")
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing; write it with `python -m pytest {OPTION}` on its tests")
    expected = path.read_text(encoding="utf-8")
    assert produced == expected, (
        f"output differs from the golden file {path}; after a deliberate change rewrite it with "
        f"`python -m pytest {OPTION}` on these tests and review the diff")
