// What the viewer measures about itself, for the tests and `radreview bench ui` (read through
// `Viewer.snapshot()` and `rrViewer.viewer.stats`): paint times, input → painted latency, the first paint
// of a case. Bounded lists; no DOM (node --test runs it).

/** The viewer's measurements, empty. */
export function newStats() {
  return { paints: [], paintHit: [], firstPaint: null, firstPaintAt: null, caseSetAt: null, steps: 0,
    latency: { slice: [], wl: [], overlay: [] }, input: null, stepTimes: [], painted: [], ahead: 0,
    windowMs: [], lastDraw: null };
}

/** Append `x` to `list`, dropping the oldest entry once there are more than `most`. */
export function keep(list, x, most) {
  list.push(x);
  if (list.length > most) list.shift();
}

/** Remember that an input of `kind` ("slice", "wl", "overlay") asked for a repaint at `at` (the first
 * one since the last paint counts). */
export function markInput(stats, kind, at) {
  if (!stats.input) stats.input = { kind, at };
}

/** Record one draw that began at `t0` and showed slice `index` of `plane`: the case's first paint, the
 * pending input's latency (a slice step only once a new slice is on screen), the paint time of a new
 * slice (`hit`: it came from the render-ahead cache) and `lastDraw`. `shown`: the slice's pixels have
 * arrived; `newSlice`: it was not the slice on screen before. */
export function recordDraw(stats, t0, plane, index, newSlice, shown, hit) {
  const now = performance.now();
  if (shown && stats.firstPaint === null && stats.caseSetAt !== null) {
    stats.firstPaintAt = now;
    stats.firstPaint = now - stats.caseSetAt;
  }
  const input = stats.input;
  if (input && (input.kind !== "slice" || newSlice)) {
    keep(stats.latency[input.kind], now - input.at, 2000);
    stats.input = null;
  }
  if (newSlice && shown) {
    keep(stats.paints, now - t0, 1000);
    keep(stats.paintHit, hit, 1000);
    keep(stats.painted, index, 1000);
  }
  stats.lastDraw = { plane, slice: index, at: now, ms: now - t0, hit };
}
