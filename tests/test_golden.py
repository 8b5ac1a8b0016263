"""``tests.golden``: golden files change only through ``--update-golden``, which CI refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import golden
from tests.golden import check_golden

ROOT = Path(__file__).resolve().parents[1]


def test_equal_passes_and_any_difference_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.txt"
    path.write_text("a\n", encoding="utf-8")
    check_golden(path, "a\n")
    monkeypatch.setenv("RADREVIEW_UPDATE_GOLDEN", "1")  # the old switch no longer accepts anything
    with pytest.raises(AssertionError, match="differs from the golden file"):
        check_golden(path, "a")
    assert path.read_text(encoding="utf-8") == "a\n"
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        check_golden(tmp_path / "none.txt", "a\n")


def test_update_mode_rewrites_then_compares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(golden._Mode, "update", True)
    path = tmp_path / "new" / "g.json"
    check_golden(path, "{}\n")
    assert path.read_text(encoding="utf-8") == "{}\n"


def _pytest(*args: str, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def test_ci_refuses_update_golden() -> None:
    this = str(Path(__file__).relative_to(ROOT))
    refused = _pytest("--update-golden", "--collect-only", "-q", this, ci="true")
    assert refused.returncode == 4  # pytest's usage error
    assert "--update-golden rewrites golden files and is refused when CI is set" in refused.stderr
    allowed = _pytest("--update-golden", "--collect-only", "-q", this, ci=None)
    assert allowed.returncode == 0, allowed.stderr
