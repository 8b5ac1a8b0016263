"""Hand-built hostile files through ``radreview info`` and ``radreview draft``, in process and as a
memory-limited subprocess of the real console script."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from crafted import BUILDERS
from hostile_support import Outcome, check_contract

# 0: accepted as a valid study, the hostile part ignored or harmless (RLE frames that inflate past the
# declared Rows×Columns are cut to the declared size by pydicom, with a warning); 3: refused.
EXPECTED = {
    "deep_sequence": 3, "wrong_vr": 3, "huge_length": 0, "rows_columns_bomb": 3, "rle_inflates": 0,
    "polyglot_zip": 0, "polyglot_png": 0, "png_bomb": 3, "zip_bomb": 3, "zip_lying_size": 3,
    "zip_slip": 3, "nifti_nan_inf": 0, "nifti_singular_affine": 3, "nifti_huge_dims": 3,
    "control_char_name": 3,
}
MEMORY_LIMIT = 3 * 1024**3
SUBPROCESS_SECONDS = 60


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


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def console(*argv: str) -> Outcome:
    """Run the installed ``radreview`` script with a 3 GiB address-space limit and a timeout."""
    script = Path(sys.executable).parent / "radreview"
    start = time.perf_counter()
    proc = subprocess.run([str(script), *argv], capture_output=True, text=True, timeout=SUBPROCESS_SECONDS,
                          preexec_fn=_limit_memory, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
                                                         "PYTHONWARNINGS": "ignore"})
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


@pytest.mark.parametrize("name", ["rows_columns_bomb", "png_bomb", "zip_bomb", "deep_sequence",
                                  "nifti_huge_dims", "rle_inflates"])
def test_console_script_under_memory_limit(name: str, tmp_path: Path) -> None:
    path = BUILDERS[name](tmp_path)
    outcome = console("draft", str(path))
    assert outcome.seconds < SUBPROCESS_SECONDS
    check_contract(Outcome(outcome.code, outcome.out, outcome.err, 0.0), path, f"console draft {name}")
    assert outcome.code == EXPECTED[name], outcome.err
