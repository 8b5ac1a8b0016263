// The viewer's parts against hand-computed values (node --test): the composed Viewer keeps the methods
// main.js, the e2e tests and `radreview bench ui` call; the measurements; the brush raster; number text.
import assert from "node:assert/strict";
import { test } from "node:test";
import { stampStroke } from "../src/edits.js";
import { keep, markInput, newStats, recordDraw } from "../src/stats.js";
import { fmt, valueText } from "../src/toolbar.js";
import { Viewer, compose } from "../src/viewer.js";

test("Viewer: every method the page, the tests and the benchmark call is there, from one module each", () => {
  const called = [
    "setState", "attach", "onKey", "snapshot", // main.js
    "setWindow", "setPlane", "setSlice", "draw", "renderAhead", "invalidate", "transform", "info", "sliceCount",
    "slice", // tests/e2e/test_viewer_paint.py, bench/ui.py
  ];
  for (const name of called) assert.equal(typeof Viewer.prototype[name], "function", name);
  assert.throws(() => compose(Viewer, { draw() {} }), /Viewer\.draw is defined twice/);
});

test("measurements: bounded lists, input latency on the next paint (a slice step only once a new slice shows)", () => {
  const list = [1, 2];
  keep(list, 3, 2);
  assert.deepEqual(list, [2, 3]);
  const s = newStats();
  s.caseSetAt = performance.now() - 50;
  markInput(s, "slice", performance.now() - 20);
  markInput(s, "wl", 0); // the first input since the last paint counts
  recordDraw(s, performance.now(), "axial", 7, false, 1, false); // same slice again: no slice latency yet
  assert.equal(s.latency.slice.length, 0);
  assert.ok(s.firstPaint >= 50 && s.firstPaintAt !== null);
  assert.equal(s.paints.length, 0);
  recordDraw(s, performance.now(), "axial", 8, true, 1, true);
  assert.equal(s.latency.slice.length, 1);
  assert.ok(s.latency.slice[0] >= 20);
  assert.equal(s.input, null);
  assert.deepEqual([s.painted, s.paintHit], [[8], [true]]);
  assert.deepEqual([s.lastDraw.plane, s.lastDraw.slice, s.lastDraw.hit], ["axial", 8, true]);
  recordDraw(s, performance.now(), "axial", 9, true, 0, false); // not arrived yet: not a paint
  assert.deepEqual(s.painted, [8]);
});

test("brush: a disc sets the pixels whose centres lie inside it; a segment is covered end to end", () => {
  const bits = new Uint8Array(25);
  stampStroke(bits, 5, 5, { u: 2.5, v: 2.5 }, { u: 2.5, v: 2.5 }, 1, 1);
  // centre pixel (distance 0) and its four neighbours (distance 1) are in; the diagonals (√2) are not
  assert.deepEqual([...bits], [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  const line = new Uint8Array(15);
  stampStroke(line, 5, 3, { u: 0.5, v: 0.5 }, { u: 4.5, v: 0.5 }, 0.5, 0.5);
  assert.deepEqual([...line], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // row 1 is a full radius away
  const oval = new Uint8Array(21); // radii 3 × 1 (an anisotropic pixel spacing): 7 wide, 3 high
  stampStroke(oval, 7, 3, { u: 3.5, v: 1.5 }, { u: 3.5, v: 1.5 }, 3, 1);
  assert.deepEqual([...oval], [0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0]);
});

test("numbers: whole from 100 up and for integers, else 4 significant digits; values with their unit", () => {
  assert.deepEqual([fmt(-1000), fmt(400), fmt(123.6), fmt(40), fmt(0.12345), fmt(-12.5)],
    ["-1000", "400", "124", "40", "0.1235", "-12.50"]);
  assert.equal(valueText(-1000, "HU"), "-1000 HU");
  assert.equal(valueText(null, "HU"), "… HU");
  assert.equal(valueText(3.25, ""), "3.250");
});
