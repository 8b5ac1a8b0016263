"""Shared helpers of the hostile-input battery: the CLI outcome, the contract every call must meet, the
expected exit code per crafted file and the memory-limited console-script runner."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ALLOWED_EXIT = (0, 3, 4)
CALL_SECONDS = 10.0  # generous per-call bound on a shared 2-core machine
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


@dataclass(frozen=True)
class Outcome:
    """What one CLI call did."""

    code: int
    out: str
    err: str
    seconds: float


def check_contract(outcome: Outcome, path: Path, what: str) -> None:
    """Exit 0, or exit 3/4 with exactly one ``error:`` line naming the file; never a traceback."""
    assert outcome.code in ALLOWED_EXIT, f"{what}: exit {outcome.code} on {path.name}: {outcome.err[-400:]}"
    assert "Traceback" not in outcome.err, f"{what}: traceback on {path.name}: {outcome.err[-400:]}"
    assert outcome.seconds < CALL_SECONDS, f"{what}: {outcome.seconds:.1f} s on {path.name}"
    if outcome.code != 0:
        errors = [line for line in outcome.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, f"{what}: expected one error line on {path.name}, got {outcome.err!r}"
        from viewer.errors import printable

        named = printable(path.name) in errors[0]
        assert named or outcome.code == 4, f"{what}: error does not name {path.name!r}: {errors[0]}"


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
