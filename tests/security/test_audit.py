"""``pip-audit`` over the installed environment: no dependency with a known vulnerability.

pip-audit reports "No known vulnerabilities found" and exits 0 even when it could audit nothing (every
package "not found on PyPI" because its advisory service is unreachable). This test reads the JSON and
skips, naming the reason, when no package was actually audited — it never passes silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PIP_AUDIT = Path(sys.executable).parent / "pip-audit"
LOCAL_PACKAGES = {"radreview"}  # this project, installed editable, is not on PyPI


def _audit() -> list[dict[str, object]]:
    proc = subprocess.run([str(PIP_AUDIT), "--local", "--progress-spinner", "off", "--format", "json",
                           "--timeout", "15"], capture_output=True, text=True, timeout=300)
    if not proc.stdout.strip():
        pytest.skip(f"pip-audit produced no report (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return list(json.loads(proc.stdout)["dependencies"])


@pytest.mark.skipif(not PIP_AUDIT.exists() and shutil.which("pip-audit") is None,
                    reason="pip-audit is not installed: pip install -e '.[dev]'")
def test_no_installed_dependency_has_a_known_vulnerability() -> None:
    deps = _audit()
    audited = [d for d in deps if "vulns" in d]
    skipped = [d for d in deps if "vulns" not in d]
    if not audited:
        reason = str(skipped[0].get("skip_reason", "")) if skipped else "empty report"
        pytest.skip(f"pip-audit's advisory database is unreachable: none of {len(deps)} installed "
                    f"packages could be audited (e.g. {reason})")
    vulnerable = {f"{d['name']} {d['version']}": [v["id"] for v in d["vulns"]]  # type: ignore[attr-defined]
                  for d in audited if d["vulns"]}
    assert vulnerable == {}
    unaudited = sorted(str(d["name"]) for d in skipped if str(d["name"]) not in LOCAL_PACKAGES)
    assert unaudited == [], f"pip-audit could not audit {unaudited}"
