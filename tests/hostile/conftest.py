"""Fixtures for the hostile-input battery: seed files and a CLI runner that checks the contract."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel  # noqa: F401  # its logging handler binds to stderr at import: the session's, not a capsys
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mutate import pydicom_seed_files  # noqa: E402

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


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run ``app.cli.main(argv)`` in process and return its :class:`Outcome`."""
    from app.cli import main

    def run(*argv: str) -> Outcome:
        capsys.readouterr()
        start = time.perf_counter()
        code = main(list(argv))
        seconds = time.perf_counter() - start
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err, seconds)

    return run


@pytest.fixture(scope="session")
def demo_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo studies written once per session."""
    from viewer.demo import make_demo_studies

    return make_demo_studies(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def seed_files(demo_paths: dict[str, Path]) -> list[Path]:
    """Real files to mutate: pydicom's bundled test files plus the demo studies (one CT slice)."""
    seeds = [p for p in pydicom_seed_files() if p.name != "README"]
    ct_slices = sorted(Path(demo_paths["ct-dicom"]).iterdir())
    return seeds + [demo_paths["cxr-dx"], demo_paths["cxr-cr"], demo_paths["cxr-png"],
                    demo_paths["ct-nifti"], ct_slices[0]]
