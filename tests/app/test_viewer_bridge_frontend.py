"""The browser viewer's own unit tests (``frontend/test``, ``node --test``): plane geometry, boxes, brush
cuts and the VOI LINEAR window against hand-computed values — the JavaScript half of the bridge."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (apt-get install -y nodejs)")
def test_frontend_unit_tests_pass() -> None:
    cmd = ["node", "--test", "test/"]
    proc = subprocess.run(cmd, cwd=FRONTEND, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout
