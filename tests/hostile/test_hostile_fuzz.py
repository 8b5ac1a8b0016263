"""A seeded fuzz of ≥ 500 mutations of real files through ``radreview info`` and ``radreview draft``."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile.hostile_support import Outcome, check_contract, console
from tests.hostile.mutate import mutate

MUTATIONS = 500
SEED = 20261123


def _suffix(seed: Path) -> str:
    if seed.name.endswith(".nii.gz"):
        return ".nii.gz"
    return seed.suffix if seed.suffix in (".png", ".nii") else ".dcm"


def _mutations(seeds: list[Path], out: Path, count: int) -> list[tuple[Path, str, Path]]:
    rng = random.Random(SEED)
    cases = []
    for i in range(count):
        seed = rng.choice(seeds)
        kind, data = mutate(seed.read_bytes(), rng)
        path = out / f"m{i:04d}-{kind}{_suffix(seed)}"
        path.write_bytes(data)
        cases.append((path, kind, seed))
    return cases


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mutations_never_crash_info_or_draft(
    seed_files: list[Path], tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    cases = _mutations(seed_files, tmp_path, MUTATIONS)
    codes: Counter[int] = Counter()
    drafted = 0
    for path, kind, seed in cases:
        info = cli("info", str(path))
        check_contract(info, path, f"info ({kind} of {seed.name})")
        codes[info.code] += 1
        # draft re-reads the file; a sample of the loadable ones also runs the built-in generator
        if info.code != 0 or drafted < 30:
            drafted += info.code == 0
            check_contract(cli("draft", str(path)), path, f"draft ({kind} of {seed.name})")
    assert sum(codes.values()) == MUTATIONS
    assert codes[3] > 0 and codes[0] > 0, f"the fuzz should hit both outcomes: {dict(codes)}"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_transfer_syntax_uid_that_is_not_a_transfer_syntax_is_exit_3(
    tmp_path: Path, cli: Callable[..., Outcome]
) -> None:
    """Regression: a bit flip in (0002,0010) used to raise ValueError inside pydicom (exit 1)."""
    from tests.hostile.mutate import PYDICOM_TEST_FILES

    data = (PYDICOM_TEST_FILES / "CT_small.dcm").read_bytes()
    assert data.count(b"1.2.840.10008.1.2.1") == 1  # explicit VR little endian, in the file meta only
    path = tmp_path / "bad-ts.dcm"
    path.write_bytes(data.replace(b"1.2.840.10008.1.2.1", b"1.2.840.10008.1.:.1"))
    outcome = cli("info", str(path))
    check_contract(outcome, path, "info")
    assert outcome.code == 3 and "not a transfer syntax" in outcome.err


def test_mutation_sample_through_the_console_script(seed_files: list[Path], tmp_path: Path) -> None:
    """Six mutations through the real ``radreview`` executable under ``RLIMIT_AS`` and a timeout."""
    for path, kind, seed in _mutations(seed_files, tmp_path, MUTATIONS)[:6]:
        outcome = console("info", str(path))
        check_contract(Outcome(outcome.code, outcome.out, outcome.err, 0.0), path,
                       f"console info ({kind} of {seed.name})")
