"""Hand-built hostile files through ``radreview info`` and ``radreview draft``, in process and as a
memory-limited subprocess of the real console script."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile.crafted import BUILDERS
from tests.hostile.hostile_support import EXPECTED, SUBPROCESS_SECONDS, Outcome, check_contract, console


def test_every_builder_has_an_expected_outcome() -> None:
    assert set(EXPECTED) == set(BUILDERS)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("command", ["info", "draft"])
def test_crafted_file(name: str, command: str, tmp_path: Path, cli: Callable[..., Outcome]) -> None:
    path = BUILDERS[name](tmp_path)
    outcome = cli(command, str(path))
    check_contract(outcome, path, f"{command} {name}")
    assert outcome.code == EXPECTED[name], outcome.err


def test_zip_slip_writes_nothing_outside(tmp_path: Path, cli: Callable[..., Outcome]) -> None:
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    path = BUILDERS["zip_slip"](inner)
    outcome = cli("info", str(path))
    assert outcome.code == 3 and "path traversal" in outcome.err
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["zip-slip.zip"]


def test_control_characters_are_escaped_in_the_error_line(
    tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    path = BUILDERS["control_char_name"](tmp_path)
    outcome = cli("info", str(path))
    assert "\x1b" not in outcome.err and "\t" not in outcome.err
    assert outcome.err.count("\n") == 1 and "evil\\n\\x1b[31mred\\tname.dcm" in outcome.err


@pytest.mark.parametrize("name", ["rows_columns_bomb", "png_bomb", "zip_bomb", "deep_sequence",
                                  "nifti_huge_dims", "rle_inflates"])
def test_console_script_under_memory_limit(name: str, tmp_path: Path) -> None:
    path = BUILDERS[name](tmp_path)
    outcome = console("draft", str(path))
    assert outcome.seconds < SUBPROCESS_SECONDS
    check_contract(Outcome(outcome.code, outcome.out, outcome.err, 0.0), path, f"console draft {name}")
    assert outcome.code == EXPECTED[name], outcome.err
