"""``radreview bench ui``: the client-side viewer in headless Chromium over loopback, with same-run floors.

One run builds a synthetic 300×512×512 CT (int16 HU with noise, a lungs mask and a box: every overlay
kind drawn), serves the viewer's bare page (:func:`app.viewer_bridge.standalone_app`, login on, the real
pixel routes) and a bare Gradio app in threads, and drives both from one Chromium page at 1920×1080.

Measures (DESIGN §8 records; latencies are input event → the viewer's repaint finished, read from the
viewer's own counters: ``rrViewer.snapshot()``):

* ``ui.held_scroll`` — 60 ArrowUp presses 30 ms apart (CDP key events, auto-repeat style): seconds per
  slice shown (``slices_per_s`` and ``lost`` presses in params); floor: the 30 ms press interval.
* ``ui.slice_step`` — ArrowUp → new slice painted, p95; floor A: a bare Gradio app's button → counter
  round trip in the same browser, p95.
* ``ui.slice_paint`` — one slice repaint during the held-key scroll (the realistic case: put, scale to the
  canvas, overlays, boxes; the window mapping too where the render-ahead cache missed), p95, with the
  cache hit rate and hit/miss p50/p95 in params; floor B: repainting one pre-windowed 512² slice on the
  same canvas (put + scaled draw), p95.
* ``ui.slice_paint_hit`` — the held scroll's paints that came from the render-ahead cache, p95; floor B.
* ``ui.slice_paint_miss`` — random access (jumps to random far slices: always a cache miss, windowed on the
  critical path), p95, with the windowing loop alone in params; floor B.
* ``ui.wl_drag`` — right-button drag (60 moves 16 ms apart) → repaint, p95; floor B.
* ``ui.overlay_toggle`` — ``o`` → repaint, p95; floor B.
* ``ui.first_slice`` — open button clicked → first slice painted, on a server that has not read the
  study yet (``cold``, the figure) and again from a fresh page (``warm`` server, in params); floor A.
* ``ui.bytes_per_study`` — compressed bytes of every pixel chunk of the study (``ours_s`` holds bytes);
  floor: the whole int16 volume gzip-compressed at level 6 in one piece.
* ``ui.empty_callback`` — floor A itself.
"""

from __future__ import annotations

import contextlib
import gzip
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._ui_study import CASE, PASSWORD, SPACING, USER, _bare_app, _prepare, _Thread, synthetic_ct
from bench.common import CHROMIUM, CHROMIUM_ARGS, percentile, result

__all__ = ["CASE", "PASSWORD", "SPACING", "USER", "run", "synthetic_ct"]

FULL_SHAPE, QUICK_SHAPE = (300, 512, 512), (80, 256, 256)
PRESSES, PRESS_GAP_S = 60, 0.030
_FRAME_FLOOR = "B: request → pre-windowed slice repainted on the next frame, p95"
BROWSER = "chromium headless (Debian), 1920×1080, loopback"

# Click an element, then resolve with the elapsed ms once `changed()` is true (checked every frame).
_ROUND_TRIP = """async ([sel, probe]) => {
  const read = new Function(probe);
  const before = read();
  const t0 = performance.now();
  const el = document.querySelector(sel);
  (el.tagName === 'BUTTON' ? el : el.querySelector('button')).click();
  return await new Promise((resolve, reject) => {
    const check = () => {
      const now = performance.now();
      if (read() !== before) resolve(now - t0);
      else if (now - t0 > 20000) reject(new Error('no change after 20 s: ' + sel));
      else requestAnimationFrame(check);
    };
    check();
  });
}"""
_COUNTER = "return document.querySelector('#rr-b-count textarea, #rr-b-count input').value;"

# Floor B: repaint one pre-windowed slice (put + scaled draw on the viewer's canvas), n times.
_FLOOR_B = """async (n) => {
  // Floor B: repaint one pre-windowed slice on the viewer's canvas (put + scaled draw). Two timings per
  // repetition: the repaint alone (`paint`) and request → repaint done on the next animation frame
  // (`frame`: the path every viewer input takes, a random phase into the frame like a real input).
  const v = rrViewer.viewer, c = document.querySelector('[data-testid=rr-canvas]');
  const ctx = c.getContext('2d');
  const t = v.transform(v.info()), P = v.info();
  const off = document.createElement('canvas'); off.width = P.nu; off.height = P.nv;
  const octx = off.getContext('2d');
  const img = new ImageData(P.nu, P.nv);
  const px = new Uint32Array(img.data.buffer);
  const paint = [], frame = [];
  for (let r = 0; r < n; r++) {
    const g = (r * 37) & 255;
    px.fill(0xff000000 | (g << 16) | (g << 8) | g);
    await new Promise((res) => setTimeout(res, Math.random() * 16));
    const asked = performance.now();
    await new Promise((res) => requestAnimationFrame(res));
    const t0 = performance.now();
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, t.ox, t.oy, P.nu * t.pu, P.nv * t.pv);
    const t1 = performance.now();
    paint.push(t1 - t0);
    frame.push(t1 - asked);
  }
  v.base.key = '';
  v.invalidate();
  return { paint, frame };
}"""
# Held key: 60 keydowns (auto-repeat style) exactly 30 ms apart, dispatched by the page's own timer so the
# driver's latency does not pace them; the viewer's capture-phase listener handles them like real keys.
_HOLD = """async ([presses, gap]) => {
  const t0 = performance.now();
  for (let i = 0; i < presses; i++) {
    const due = t0 + i * gap;
    while (performance.now() < due - 1) {
      await new Promise((res) => setTimeout(res, Math.max(0, due - performance.now() - 1)));
    }
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', code: 'ArrowUp', repeat: i > 0,
      bubbles: true, cancelable: true }));
  }
  document.body.dispatchEvent(new KeyboardEvent('keyup', { key: 'ArrowUp', code: 'ArrowUp', bubbles: true }));
  return performance.now() - t0;
}"""
_ALL_LOADED = "() => { const s = rrViewer.snapshot(); return s.loaded === s.slices && s.labels !== null; }"
_BYTES = """() => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/rr-api/pixels/') || e.name.includes('/rr-api/slice/'))
  .reduce((a, e) => a + (e.encodedBodySize || e.transferSize || 0), 0)"""

def _floor_a(page: Any, url: str, n: int) -> list[float]:
    page.goto(url + "/")
    page.wait_for_selector("#rr-b-ping")
    times = []
    for i in range(n + 3):
        ms = page.evaluate(_ROUND_TRIP, ["#rr-b-ping", _COUNTER])
        page.wait_for_timeout(100)
        if i >= 3:
            times.append(ms / 1000.0)
    return times


def _login(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.fill("input[type=text]", USER)
    page.fill("input[type=password]", PASSWORD)
    page.click("button:has-text('Login')")
    page.wait_for_selector("#rr-t-case")


def _open_timed(page: Any) -> float:
    """Open the case; seconds from the click to the first slice painted."""
    page.fill("#rr-t-case textarea, #rr-t-case input", CASE)
    t0 = page.evaluate("() => { document.activeElement.blur(); const t = performance.now(); "
                       "document.querySelector('#rr-t-open').click(); return t; }")
    page.wait_for_function("() => { const s = window.rrViewer && rrViewer.snapshot(); "
                           f"return s && s.case === '{CASE}' && s.firstPaintAt !== null; }}", timeout=120_000)
    at = page.evaluate("() => rrViewer.snapshot().firstPaintAt")
    return float(at - t0) / 1000.0


def _snap(page: Any) -> dict[str, Any]:
    return page.evaluate("() => rrViewer.snapshot()")  # type: ignore[no-any-return]


def _held_scroll(page: Any, start: int) -> tuple[float, int, int, list[float], list[bool]]:
    """60 ArrowUp presses 30 ms apart from ``start``: (distinct slices painted per second, presses lost,
    slices skipped — stepped over within one frame, never painted —, paint ms of the run, whether each
    paint came from the render-ahead cache)."""
    page.evaluate(f"() => {{ const v = rrViewer.viewer, s = v.stats; v.setSlice({start}); "
                  "s.paints.length = 0; s.paintHit.length = 0; "
                  "s.latency.slice.length = 0; s.stepTimes.length = 0; s.painted.length = 0; }")
    page.wait_for_timeout(300)  # a reader looks at a slice before holding the key: idle time to render ahead
    page.evaluate(_HOLD, [PRESSES, PRESS_GAP_S * 1000.0])
    target = start + PRESSES
    with contextlib.suppress(Exception):  # presses lost: report what was shown
        page.wait_for_function(f"() => rrViewer.snapshot().drawn.slice === {target}", timeout=5000)
    s = _snap(page)
    advanced = int(s["drawn"]["slice"]) - start
    painted = len({k for k in s["painted"] if start < k <= start + PRESSES})
    span_ms = float(s["drawn"]["at"]) - float(s["stepTimes"][0]) if s["stepTimes"] else float("inf")
    return (painted / (span_ms / 1000.0), PRESSES - advanced, advanced - painted, list(s["paints"]),
            [bool(h) for h in s["paintHit"]])


# Random access: jump to `n` random slices at least 20 apart (never rendered ahead), one per 80 ms.
_RANDOM = """async (n) => {
  const v = rrViewer.viewer, s = v.stats, nk = v.sliceCount();
  s.paints.length = 0; s.paintHit.length = 0; s.windowMs.length = 0;
  let k = v.slice();
  for (let r = 0; r < n; r++) {
    let next = k;
    while (Math.abs(next - k) < 20) next = Math.floor(Math.random() * nk);
    k = next;
    v.setSlice(k);
    await new Promise((res) => setTimeout(res, 80));
  }
  return { paints: s.paints.slice(), hit: s.paintHit.slice(), window: s.windowMs.slice() };
}"""


def _random_access(page: Any, n: int) -> tuple[list[float], list[bool], list[float]]:
    """Paint ms, hit flags and windowing-loop ms of ``n`` jumps to random far slices."""
    got = page.evaluate(_RANDOM, n)
    return list(got["paints"]), [bool(h) for h in got["hit"]], list(got["window"])


def _wl_drag(page: Any, moves: int) -> list[float]:
    box = page.locator("[data-testid=rr-canvas]").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate("() => { rrViewer.viewer.stats.latency.wl.length = 0; }")
    page.mouse.move(x, y)
    page.mouse.down(button="right")
    for i in range(moves):
        page.mouse.move(x + 3 * (i + 1), y + (i % 7) - 3)
        time.sleep(0.016)
    page.mouse.up(button="right")
    page.wait_for_timeout(200)
    return list(_snap(page)["latency"]["wl"])


def _overlay_toggles(page: Any, n: int) -> list[float]:
    page.evaluate("() => { rrViewer.viewer.stats.latency.overlay.length = 0; }")
    for _ in range(n):
        page.keyboard.press("o")
        time.sleep(0.08)
    page.wait_for_timeout(200)
    return list(_snap(page)["latency"]["overlay"])


def _study_read_s(services: Any) -> float:
    """Seconds the server needs to read the study from disk (part of the cold first slice)."""
    import dataclasses

    probe = dataclasses.replace(services, studies=type(services.studies)(max_items=1))
    t0 = time.perf_counter()
    probe.study(CASE)
    return time.perf_counter() - t0


def _volume_floor_bytes(hu: np.ndarray) -> int:
    return len(gzip.compress(np.ascontiguousarray(hu.astype("<i2")).tobytes(), compresslevel=6))


def run(quick: bool = False) -> list[dict[str, Any]]:
    """The viewer's reading figures against floors A and B (see module docstring)."""
    from playwright.sync_api import sync_playwright

    from app.pixel_routes import DIST
    from app.viewer_bridge import standalone_app

    if not (DIST / "viewer.js").is_file():
        raise RuntimeError("the viewer is not built: bash tools/build_viewer.sh (npm ci + esbuild)")
    shape = QUICK_SHAPE if quick else FULL_SHAPE
    n = 15 if quick else 40
    hu = synthetic_ct(shape)
    floor_bytes = _volume_floor_bytes(hu)
    load_s = 0.0
    with tempfile.TemporaryDirectory(prefix="radreview-bench-ui-") as tmp:
        services = _prepare(Path(tmp), hu)
        load_s = _study_read_s(services)
        viewer_srv = _Thread(standalone_app(services, auth=[(USER, PASSWORD)]))
        bare_srv = _Thread(_bare_app())
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
                ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                floor_a = _floor_a(page, bare_srv.url, n)
                _login(page, viewer_srv.url)
                first_cold = _open_timed(page)
                page.wait_for_function(_ALL_LOADED, timeout=300_000)
                sent = int(page.evaluate(_BYTES))
                page.reload()
                page.wait_for_selector("#rr-t-case")
                first_warm = _open_timed(page)
                page.wait_for_function(_ALL_LOADED, timeout=300_000)
                page.mouse.move(960, 600)
                fb = page.evaluate(_FLOOR_B, n * 5)
                floor_b = [t / 1000.0 for t in fb["paint"]]
                floor_bf = [t / 1000.0 for t in fb["frame"]]
                start = max(0, min(shape[0] // 2 - PRESSES // 2, shape[0] - 1 - PRESSES))
                rate, lost, skipped, paints, hits = _held_scroll(page, start)
                step_lat = [t / 1000.0 for t in _snap(page)["latency"]["slice"]]
                rnd_paints, rnd_hits, rnd_window = _random_access(page, n)
                wl = [t / 1000.0 for t in _wl_drag(page, 60)]
                toggles = [t / 1000.0 for t in _overlay_toggles(page, n)]
                page.screenshot(path=str(Path(tmp) / "ui.png"))
                browser.close()
        finally:
            viewer_srv.stop()
            bare_srv.stop()
            services.repo.close()
    paint_s = [t / 1000.0 for t in paints]
    hit_s = [t for t, h in zip(paint_s, hits, strict=True) if h]
    miss_held_s = [t for t, h in zip(paint_s, hits, strict=True) if not h]
    miss_s = [t / 1000.0 for t, h in zip(rnd_paints, rnd_hits, strict=True) if not h]
    window_s = [t / 1000.0 for t in rnd_window]
    for name, got in (("paints", paint_s), ("slice steps", step_lat), ("W/L drag", wl), ("toggles", toggles),
                      ("cache hits", hit_s), ("random-access misses", miss_s), ("window loops", window_s)):
        if not got:
            raise RuntimeError(f"bench ui: no {name} were measured (is the viewer drawing?)")
    common = {"shape": list(shape), "browser": BROWSER}
    fa95, fb95, fbf95 = percentile(floor_a, 95), percentile(floor_b, 95), percentile(floor_bf, 95)

    def row(name: str, samples: list[float], floor: float, floor_name: str, **extra: Any) -> dict[str, Any]:
        return result(name, percentile(samples, 95), floor, len(samples), statistic="p95",
                      p50_s=percentile(samples, 50), floor=floor_name, **extra, **common)

    return [
        result("ui.held_scroll", 1.0 / rate if rate > 0 else float("inf"), PRESS_GAP_S, PRESSES,
               statistic="seconds per distinct slice painted", slices_per_s=rate, lost=lost, skipped=skipped,
               floor="press interval (30 ms)", **common),
        row("ui.slice_step", step_lat, fa95, "A: bare Gradio button → counter, p95", frame_floor_s=fbf95),
        row("ui.slice_paint", paint_s, fb95, "B: repaint one pre-windowed slice, p95",
            hit_rate=len(hit_s) / len(paint_s), hit_p50_s=percentile(hit_s, 50),
            hit_p95_s=percentile(hit_s, 95),
            held_misses=len(miss_held_s), floor_p50_s=percentile(floor_b, 50),
            case="held ArrowUp: 60 presses 30 ms apart"),
        row("ui.slice_paint_hit", hit_s, fb95, "B: repaint one pre-windowed slice, p95",
            case="held ArrowUp, render-ahead cache hits"),
        row("ui.slice_paint_miss", miss_s, fb95, "B: repaint one pre-windowed slice, p95",
            window_loop_p50_s=percentile(window_s, 50), window_loop_p95_s=percentile(window_s, 95),
            random_hits=sum(rnd_hits), case="random access: jumps ≥ 20 slices, a cache miss each"),
        row("ui.wl_drag", wl, fbf95, _FRAME_FLOOR),
        row("ui.overlay_toggle", toggles, fbf95, _FRAME_FLOOR),
        result("ui.first_slice", first_cold, fa95, 1, statistic="open click → first slice painted",
               warm_server_s=first_warm, server_study_read_s=load_s,
               floor="A: bare Gradio button → counter, p95", **common),
        result("ui.bytes_per_study", float(sent), float(floor_bytes), 1, unit="bytes",
               floor="gzip -6 of the whole int16 volume", **common),
        row("ui.empty_callback", floor_a, fa95, "A itself"),
    ]
