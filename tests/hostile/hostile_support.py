"""Shared helpers of the hostile-input battery: the CLI outcome and the contract every call must meet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ALLOWED_EXIT = (0, 3, 4)
CALL_SECONDS = 10.0  # generous per-call bound on a shared 2-core machine


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
