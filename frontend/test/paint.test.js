// The windowing loop and the render-ahead cache against hand-computed values (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";
import { windowByte } from "../src/geometry.js";
import {
  LOADING, SliceCache, aheadOrder, heatColors, jet, labelColors, overlaySlice, sliceLoaded, windowSlice, windowTable,
} from "../src/paint.js";

const grey = (y) => (0xff000000 | (y << 16) | (y << 8) | y) >>> 0;
// a 3×2×4 int16 volume: value = 100·k + 10·i + j
const shape = [3, 2, 4];
const vol = Int16Array.from({ length: 24 }, (_, p) => 100 * Math.floor(p / 8) + 10 * Math.floor((p % 8) / 4) + (p % 4));
const ct = { dtype: "int16", range: [0, 213], invert: false };

test("window table: the LINEAR byte of every stored value in range, int16 offset 32768", () => {
  const lut = windowTable(ct, { c: 100, w: 201 });
  assert.equal(lut.offset, 32768);
  // DICOM C.11.2.1.2: ((113 − 99.5)/200 + 0.5)·255 = 144.71 → 145; ((0 − 99.5)/200 + 0.5)·255 = 0.64 → 1
  assert.equal(lut.table[113 + 32768], grey(145));
  assert.equal(lut.table[0 + 32768], grey(1));
  assert.equal(windowTable(ct, { c: 100, w: 201 }, lut), lut); // same window: the same table
  const mono1 = windowTable({ dtype: "uint16", range: [0, 30000], invert: true }, { c: 15000, w: 30000 });
  assert.equal(mono1.offset, 0);
  assert.equal(mono1.table[10000], grey(170)); // 255 − 85, as the e2e CR test
});

test("windowSlice: axial, coronal (superior up) and sagittal cuts, unloaded rows dark blue", () => {
  const lut = windowTable(ct, { c: 128, w: 256 });
  const by = (x) => grey(windowByte(x, 128, 256, false));
  const loaded = Uint8Array.from([1, 1, 1]);
  const out = new Uint32Array(8);
  windowSlice(out, vol, loaded, shape, "axial", 1, lut);
  assert.deepEqual([...out], [100, 101, 102, 103, 110, 111, 112, 113].map(by));
  const cor = new Uint32Array(12); // u = j, v = nk − 1 − k at i = 1
  windowSlice(cor, vol, loaded, shape, "coronal", 1, lut);
  assert.deepEqual([...cor], [210, 211, 212, 213, 110, 111, 112, 113, 10, 11, 12, 13].map(by));
  const sag = new Uint32Array(6); // u = i, v = nk − 1 − k at j = 2
  windowSlice(sag, vol, Uint8Array.from([1, 0, 1]), shape, "sagittal", 2, lut);
  assert.deepEqual([...sag], [by(202), by(212), LOADING, LOADING, by(2), by(12)]);
  windowSlice(out, vol, Uint8Array.from([1, 0, 1]), shape, "axial", 1, lut);
  assert.ok(out.every((x) => x === LOADING));
  // float32: per-pixel window, same bytes as the table
  const f = Float32Array.from(vol);
  const flut = windowTable({ dtype: "float32", range: [0, 213], invert: false }, { c: 128, w: 256 });
  const fo = new Uint32Array(8);
  windowSlice(fo, f, loaded, shape, "axial", 1, flut);
  assert.deepEqual([...fo], [100, 101, 102, 103, 110, 111, 112, 113].map(by));
});

test("progressive loading: a slice counts as loaded only when every row it shows has arrived", () => {
  const loaded = Uint8Array.from([1, 0, 1]);
  assert.equal(sliceLoaded(loaded, 2, "axial", 0), true);
  assert.equal(sliceLoaded(loaded, 2, "axial", 1), false);
  assert.equal(sliceLoaded(loaded, 2, "coronal", 0), false); // a coronal cut crosses slice 1
  assert.equal(sliceLoaded(Uint8Array.from([1, 1, 1]), 3, "sagittal", 3), true);
});

test("ahead order: nearest first, more slices in the direction of travel, inside the volume", () => {
  assert.deepEqual(aheadOrder(10, 100, 0), [10, 11, 9, 12, 8, 13, 7, 14, 6]);
  assert.deepEqual(aheadOrder(10, 100, 1), [10, 11, 9, 12, 8, 13, 7, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
  assert.deepEqual(aheadOrder(1, 100, -1), [1, 0, 2, 3, 4]);
  assert.deepEqual(aheadOrder(98, 100, 1), [98, 99, 97, 96, 95]);
});

test("slice cache: LRU within its byte budget, spare buffers reused, retain drops stale windows", () => {
  const cache = new SliceCache(3 * 16); // three 2×2 slices of 16 bytes
  for (const key of ["b#w1#0", "b#w1#1", "b#w1#2"]) cache.put(key, cache.take(2, 2));
  assert.equal(cache.size, 3);
  cache.get("b#w1#0"); // used: the oldest is now #1
  const spareBefore = cache.spare.length;
  cache.put("b#w1#3", cache.take(2, 2));
  assert.deepEqual([...cache.map.keys()], ["b#w1#2", "b#w1#0", "b#w1#3"]);
  assert.equal(cache.bytes, 48);
  assert.equal(cache.spare.length, spareBefore + 1);
  const spare = cache.spare[0];
  assert.equal(cache.take(2, 2), spare); // evicted buffer reused
  assert.notEqual(cache.take(3, 2).pix.length, 4);
  cache.put("o#s#0", cache.take(2, 2));
  cache.retain((key) => !key.startsWith("b#") || key.startsWith("b#w2#"));
  assert.deepEqual([...cache.map.keys()], ["o#s#0"]);
  assert.equal(cache.bytes, 16);
});

test("overlaySlice: label colours, heat over labels, planes as windowSlice", () => {
  const labels = Uint8Array.from({ length: 24 }, (_, p) => (p % 4 === 3 ? 1 : 0));
  const colors = new Uint32Array(256); colors[1] = 0x80112233;
  const heatLut = new Uint32Array(256); heatLut[9] = 0xc8000000;
  const out = new Uint32Array(8);
  overlaySlice(out, labels, colors, null, heatLut, shape, "axial", 0);
  assert.deepEqual([...out], [0, 0, 0, 0x80112233, 0, 0, 0, 0x80112233]);
  const heat = new Uint8Array(24); heat[3] = 9; heat[4] = 9;
  overlaySlice(out, labels, colors, heat, heatLut, shape, "axial", 0);
  assert.deepEqual([...out], [0, 0, 0, 0xc8000000, 0xc8000000, 0, 0, 0x80112233]);
  const sag = new Uint32Array(6); // j = 3: every row labelled
  overlaySlice(sag, labels, colors, null, heatLut, shape, "sagittal", 3);
  assert.ok(sag.every((x) => x === 0x80112233));
});

test("jet: dark blue at 0, light green at ½, dark red at 1", () => {
  // c(t) = round(255·clamp(1.5 − |4x − t|)): x = 0 → [c(3), c(2), c(1)] = [0, 0, round(127.5)] = [0, 0, 128]
  assert.deepEqual(jet(0), [0, 0, 128]);
  assert.deepEqual(jet(0.5), [128, 255, 128]);
  assert.deepEqual(jet(1), [128, 0, 0]);
});

test("heat colours: jet at alpha 200·n/255, 0 transparent", () => {
  const out = heatColors(new Uint32Array(256));
  assert.equal(out[0], 0);
  assert.equal(out[255], 0xc8000080); // alpha 200, r 128 (ABGR)
  // n = 51: x = 0.2, 4x = 0.8 → r = c(3) = 0 (1.5 − 2.2 < 0), g = c(2) = 255·(1.5 − 1.2) = 76.5 (+1 ulp) → 77,
  // b = c(1) = 255 (1.5 − 0.2 > 1); alpha round(200·51/255) = 40
  assert.equal(out[51], ((40 << 24) >>> 0) | (255 << 16) | (77 << 8));
});

test("label colours: shown regions at the opacity, the selected one 0.25 more, capped at 1", () => {
  const labels = { names: ["lungs", "heart", "liver"], colors: [[10, 20, 30], [40, 50, 60], [1, 2, 3]] };
  const out = new Uint32Array(256).fill(7);
  labelColors(out, labels, 0.35, (name) => name !== "liver", "heart");
  assert.equal(out[0], 0);
  assert.equal(out[1], 0x591e140a); // alpha round(255·0.35) = 89 = 0x59; b g r = 30 20 10
  assert.equal(out[2], 0x993c3228); // alpha round(255·0.6) = 153 = 0x99; b g r = 60 50 40
  assert.equal(out[3], 0); // not shown
  assert.equal(out[4], 0); // the old contents are cleared
  labelColors(out, labels, 0.9, () => true, "lungs");
  assert.equal(out[1] >>> 24, 255); // 0.9 + 0.25 → 1
  assert.deepEqual([...labelColors(out, null, 0.5, () => true, null)].filter(Boolean), []);
});
