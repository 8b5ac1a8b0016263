"""``radreview bench ui``: browser round trips (Chromium over loopback) of the review workspace.

Measures, in one run against one ``radreview serve --demo`` server, the time from a key/click in the
page until the page shows the result:

* ``ui.slice_scroll``: ↑ key → the slice number shown has changed (new figure rendered);
* ``ui.overlay_toggle``: segmentation checkbox → the image in the plot has changed;
* floor: an empty Gradio callback (hidden button → counter + 1) → the new value is shown.

p50 and p95 over ``n`` repetitions each; the DESIGN §8 record carries the p95 as ``ours_s`` and the
floor's p95 as ``floor_s`` (goal: ratio ≤ 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import CHROMIUM, CHROMIUM_ARGS, percentile, result

CASE = "demo-ct-nifti"

# Click an element, then resolve with the elapsed ms once `changed()` is true (checked every frame).
_ROUND_TRIP = """async ([clickId, probe]) => {
  const read = new Function(probe);
  const before = read();
  const t0 = performance.now();
  const el = document.getElementById(clickId);
  (el.tagName === 'BUTTON' || el.tagName === 'INPUT' ? el : el.querySelector('input,button')).click();
  return await new Promise((resolve, reject) => {
    const limit = t0 + 20000;
    const check = () => {
      const now = performance.now();
      if (read() !== before) { resolve(now - t0); }
      else if (now > limit) { reject(new Error('no change after 20 s: ' + clickId)); }
      else { requestAnimationFrame(check); }
    };
    check();
  });
}"""
_SLICE = "return document.querySelector('#rr-slice input[type=number]').value;"
_IMAGE = (
    "const i = document.querySelector('#rr-plot image');"
    "return i ? (i.getAttribute('href') || '').length + ':' + (i.getAttribute('href') || '').slice(-64) : '';"
)
_PONG = "return document.querySelector('#rr-pong textarea, #rr-pong input').value;"


def _prepare(data: Path) -> None:
    """Register the demo studies and draft the CT with the built-in generator (before serving)."""
    import argparse

    from app.callbacks.generate import generate
    from app.commands import serve

    args = argparse.Namespace(
        host="127.0.0.1",
        port=0,
        root_path="",
        db=None,
        data_dir=str(data),
        generator="builtin",
        model=None,
        quantization="none",
        auth_file=None,
        demo=True,
        max_upload_mb=64,
    )
    services, problem = serve.build_services(args, None)
    if services is None:
        raise RuntimeError(problem)
    serve.register_demo(services)
    if services.repo.latest_draft(CASE) is None:
        generate(services, CASE)
    services.repo.close()


def _serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GRADIO_TEMP_DIR": str(data.parent / "gradio-tmp")}
    cmd = [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port), "--data-dir", str(data)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("radreview serve did not become healthy within 120 s")


def _measure(page: Any, probes: dict[str, tuple[str, str]], n: int) -> dict[str, list[float]]:
    """Round trips per probe, interleaved (floor, scroll, toggle, floor, …) so that changes in machine
    load hit every measure alike; two warm-up rounds are discarded."""
    times: dict[str, list[float]] = {name: [] for name in probes}
    for i in range(n + 2):
        for name, (click_id, probe) in probes.items():
            ms = page.evaluate(_ROUND_TRIP, [click_id, probe])
            page.wait_for_timeout(300)  # let the page settle: each round trip starts idle
            if i >= 2:
                times[name].append(ms / 1000.0)
    return times


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#rr-worklist")
    page.fill("#rr-case-id textarea, #rr-case-id input", CASE)
    page.click("#rr-open")
    page.wait_for_selector("#rr-plot image")
    page.wait_for_timeout(1000)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Slice-scroll and overlay-toggle round trips vs an empty callback (seconds, p50/p95)."""
    from playwright.sync_api import sync_playwright

    from app.server import free_port

    n = 10 if quick else 40
    with tempfile.TemporaryDirectory(prefix="radreview-bench-ui-") as tmp:
        data = Path(tmp) / "data"
        _prepare(data)
        port = free_port()
        proc = _serve(data, port)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
                )
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                _open(page, f"http://127.0.0.1:{port}/")
                times = _measure(page, {"floor": ("rr-key-ping", _PONG), "scroll": ("rr-key-up", _SLICE),
                                        "toggle": ("rr-seg", _IMAGE)}, n)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    floor, scroll, toggle = times["floor"], times["scroll"], times["toggle"]
    out = []
    for name, samples in (
        ("ui.slice_scroll", scroll),
        ("ui.overlay_toggle", toggle),
        ("ui.empty_callback", floor),
    ):
        out.append(
            result(
                name,
                percentile(samples, 95),
                percentile(floor, 95),
                len(samples),
                statistic="p95",
                p50_s=percentile(samples, 50),
                floor_p50_s=percentile(floor, 50),
                study=CASE,
                browser="chromium headless, loopback",
            )
        )
    return out
