// Plane geometry and windowing of the browser viewer against hand-computed values (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  boxToDisplay, cutLayout, displayOf, displayToBox, encodeRle, planeInfo, voxelAt, windowByte,
} from "../src/geometry.js";

const ct = { ndim: 3, shape: [40, 128, 100], spacing: [2.0, 0.5, 0.8] };

test("planes: sizes in display pixels and mm per pixel (square in mm on screen)", () => {
  assert.deepEqual(planeInfo(ct, "axial"), { plane: "axial", nu: 100, nv: 128, su: 0.8, sv: 0.5, n: 40, known: true });
  assert.deepEqual(planeInfo(ct, "coronal"), { plane: "coronal", nu: 100, nv: 40, su: 0.8, sv: 2.0, n: 128, known: true });
  assert.deepEqual(planeInfo(ct, "sagittal"), { plane: "sagittal", nu: 128, nv: 40, su: 0.5, sv: 2.0, n: 100, known: true });
  assert.equal(planeInfo({ ndim: 2, shape: [1, 20, 30], spacing: null }, "image").known, false);
});

test("radiological convention: superior is up, voxel ↔ display round trip", () => {
  const cursor = [10, 60, 30];
  assert.deepEqual(voxelAt(ct, "coronal", cursor, 7, 0), [39, 60, 7]); // top row = highest k (superior)
  assert.deepEqual(voxelAt(ct, "sagittal", cursor, 5, 39), [0, 5, 30]);
  for (const plane of ["axial", "coronal", "sagittal"]) {
    const [u, v] = displayOf(ct, plane, cursor);
    assert.deepEqual(voxelAt(ct, plane, cursor, u, v), cursor);
  }
});

test("boxes: DESIGN §2 normalised ↔ display, slab test along the normal", () => {
  const box = [0.1, 0.25, 0.5, 0.3, 0.5, 0.6]; // x ↔ j (100), y ↔ i (128), z ↔ k (40)
  assert.deepEqual(boxToDisplay(ct, "axial", 20, box), { u0: 10, v0: 32, u1: 30, v1: 64 });
  assert.equal(boxToDisplay(ct, "axial", 19, box), null); // slice 19 = [0.475, 0.5): outside
  assert.deepEqual(boxToDisplay(ct, "coronal", 40, box), { u0: 10, v0: 16, u1: 30, v1: 20 }); // (1−0.6)·40
  const back = displayToBox(ct, "coronal", 40, { u0: 10, v0: 16, u1: 30, v1: 20 }, box);
  back.forEach((x, n) => assert.ok(Math.abs(x - box[n]) < 1e-12));
  // a new box on axial slice 5 spans that slice's slab
  assert.deepEqual(displayToBox(ct, "axial", 5, { u0: 50, v0: 64, u1: 0, v1: 0 }, null), [0, 0, 5 / 40, 0.5, 0.5, 6 / 40]);
});

test("brush cut in array order and run lengths", () => {
  const cut = cutLayout(ct, "coronal"); // [k, j]
  assert.deepEqual([cut.rows, cut.cols, cut.at(3, 0)], [40, 100, 39 * 100 + 3]);
  assert.deepEqual(encodeRle(Uint8Array.from([1, 1, 0, 0, 1, 1])), [0, 2, 2, 2]);
  assert.deepEqual(encodeRle(Uint8Array.from([0, 0, 0])), [3]);
});

test("LINEAR window as DICOM PS3.3 C.11.2.1.2 (and viewer/windowing.py)", () => {
  // ((300 − 199.5)/299 + 0.5)·255 = 213.2 → 213
  assert.equal(windowByte(300, 200, 300, false), 213);
  assert.equal(windowByte(-1000, 40, 400, false), 0);
  assert.equal(windowByte(1000, 40, 400, false), 255);
  assert.equal(windowByte(10000, 15000, 30000, true), 170); // MONOCHROME1: 255 − 85
  assert.equal(windowByte(5, 5.5, 1, false), 0); // width 1: a step at c − 0.5
  assert.equal(windowByte(6, 5.5, 1, false), 255);
});
