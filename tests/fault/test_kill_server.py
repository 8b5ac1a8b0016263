"""SIGKILL the real ``radreview serve`` while reviewers act over HTTP (``gradio_client`` sessions):
every acknowledged action is stored, the file is intact, and a restarted server serves again.
Run with ``RADREVIEW_SLOW=1`` (two server starts: ~60 s on the shared 2-core machine)."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bench._load_common import ActionLog, make_services
from bench._load_http import _http_reviewer, _serve
from tests.fault.faultlib import integrity, stored_actions

KILL_AFTER = 8  # acknowledged actions before the SIGKILL (of 3 reviewers × 2 cases × 7 actions)


@pytest.mark.slow
def test_sigkill_server_mid_http_burst(tmp_path: Path) -> None:
    plan = [[f"r{i}-c{j}" for j in range(2)] for i in range(3)]
    svc = make_services(tmp_path, [c for cases in plan for c in cases], findings=6)
    svc.repo.close()
    proc, url = _serve(tmp_path, svc.data_dir)
    log, floor = ActionLog(), ActionLog()  # floor: the /ping round trips, not checked here
    threads = [
        threading.Thread(target=_http_reviewer, args=(url, cases, 6, time.monotonic() + 120, log, floor))
        for cases in plan
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(log.acked) < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    with log.lock:
        acked = list(log.acked)  # what reviewers had been shown before the kill
    proc.wait(timeout=30)
    for t in threads:
        t.join(timeout=120)
    assert len(acked) >= KILL_AFTER
    db = tmp_path / "rr.db"
    assert integrity(db) == "ok"
    stored = stored_actions(db)
    for case in {a[0] for a in acked}:
        shown = [a for a in acked if a[0] == case]
        rows = [s for s in stored if s[0] == case]
        assert len(rows) >= len(shown), (case, shown, rows)  # nothing acknowledged is lost
    assert len(set(stored)) == len(stored)  # nothing twice
    proc2, url2 = _serve(tmp_path, svc.data_dir)
    try:
        with urllib.request.urlopen(f"{url2}/healthz", timeout=10) as resp:
            health = json.loads(resp.read())
        assert health["status"] == "ok" and health["studies"] == 6
    finally:
        proc2.terminate()
        proc2.wait(timeout=30)
