"""Fixtures for the hostile-input battery: seed files and a CLI runner that checks the contract."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import nibabel  # noqa: F401  # its logging handler binds to stderr at import: the session's, not a capsys
import pytest

from tests.hostile.hostile_support import Outcome
from tests.hostile.mutate import pydicom_seed_files


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
    demo = [demo_paths[name] for name in ("cxr-dx", "cxr-cr", "cxr-png", "ct-nifti")]
    return [*seeds, *demo, ct_slices[0]]
