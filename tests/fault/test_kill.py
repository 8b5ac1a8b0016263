"""SIGKILL a review writer mid-burst: every acknowledged action survives, the file is intact, and a
restarted ``radreview serve`` on the same database serves again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from bench.common import radreview_script, running_server
from tests.fault.faultlib import integrity, populate, stored_actions

HERE = Path(__file__).parent
KILL_AFTER = 60  # acknowledged actions before the SIGKILL (of 8 cases × 12 findings + 8 signs = 104)


def _burst_then_kill(url: str, data: Path) -> list[tuple[str, str, str]]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "fault_worker.py"), "burst", url, str(data)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    acked: list[tuple[str, str, str]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ACK"):
            _, case, fid, kind = line.split()
            acked.append((case, "" if fid == "-" else fid, kind))
            if len(acked) == KILL_AFTER:
                proc.send_signal(signal.SIGKILL)  # mid-burst: the writer is already on the next action
                break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return acked


def _serve_health(url: str, data: Path, log: Path) -> dict[str, object]:
    from app.server import free_port

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(data.parent / "gradio-tmp")}
    cmd = [radreview_script(), "serve", "--port", str(port), "--data-dir", str(data), "--db", url]
    with (
        running_server(cmd, port, log, env, seconds=60.0) as served,
        urllib.request.urlopen(f"{served}/healthz", timeout=10) as resp,
    ):
        return json.loads(resp.read())  # type: ignore[no-any-return]


def test_sigkill_mid_burst_loses_no_acknowledged_action(tmp_path: Path, demo_png: Path) -> None:
    url, data = populate(tmp_path, demo_png, cases=8, findings=12)
    acked = _burst_then_kill(url, data)
    db = tmp_path / "rr.db"
    stored = stored_actions(db)
    assert integrity(db) == "ok"
    # Every acknowledged action is stored, in order; at most the one in flight beyond them, none twice.
    assert stored[: len(acked)] == acked
    assert len(acked) <= len(stored) <= len(acked) + 1
    assert len(set(stored)) == len(stored)
    health = _serve_health(url, data, tmp_path / "serve.log")
    assert health["status"] == "ok" and health["studies"] == 8
