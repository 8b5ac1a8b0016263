// Keyboard, wheel and pointer input: the reading hotkeys, scroll and zoom, and the drags of the canvas —
// window/level (right button), pan (middle, or the probe dragged), probe, ruler — handing box and brush
// drags to edits.js. Methods of `Viewer` (mixed in by viewer.js; `this` is the viewer).

import { voxelAt } from "./geometry.js";
import { NO_SPACING } from "./toolbar.js";

const STEPS = { ArrowUp: 1, ArrowDown: -1, PageUp: 10, PageDown: -10 };
const TOOL_KEYS = { p: "probe", b: "box", g: "brush", m: "ruler" };
const PLANE_KEYS = { 1: "axial", 2: "coronal", 3: "sagittal" };

export const input = {
  /** The canvas's pointer and wheel listeners (called once, by `build`). */
  listen() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.onDown(e));
    c.addEventListener("pointermove", (e) => this.onMove(e));
    c.addEventListener("pointerup", (e) => this.onUp(e));
    c.addEventListener("pointercancel", () => { this.drag = null; });
    c.addEventListener("pointerleave", () => { this.hover = null; this.updateReadout(); this.invalidate(); });
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
  },

  /** Document-level keys (capture phase); returns true when the key was ours. */
  onKey(e) {
    if (!this.s) return false;
    const k = e.key;
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (k === "z" || k === "Z")) { this.undo(); return true; }
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    if (k in STEPS) { this.step(STEPS[k], e.timeStamp); return true; }
    if (k === "Home") { this.setSlice(0); return true; }
    if (k === "End") { this.setSlice(this.sliceCount() - 1); return true; }
    if (e.repeat) return false;
    if (k in TOOL_KEYS) { this.setTool(TOOL_KEYS[k]); return true; }
    if (k === "Escape") {
      if (this.tool === "probe" && !this.measure) return false;
      this.measure = null; this.setTool("probe"); return true;
    }
    if (k === "w") { this.nextPreset(); return true; }
    if (k === "o") { this.toggleOverlays(e.timeStamp); return true; }
    if (k === "c") { this.toggleCine(); return true; }
    if (k === "0") { this.resetView(); return true; }
    if (k === "x") { this.erase = !this.erase; this.setNote(this.erase ? "brush erases (x)" : ""); return true; }
    if (k === "[" || k === "]") {
      this.brushMm = Math.max(1, Math.min(50, this.brushMm * (k === "]" ? 1.25 : 0.8)));
      this.invalidate(); return true;
    }
    if (k in PLANE_KEYS && this.isVolume()) { this.setPlane(PLANE_KEYS[k]); return true; }
    return false;
  },

  /** A pointer event in canvas pixels (`sx`, `sy`) and display pixels of the plane (`u`, `v`). */
  toDisplay(e) {
    const r = this.canvas.getBoundingClientRect();
    const sx = (e.clientX - r.left) * (this.canvas.width / r.width);
    const sy = (e.clientY - r.top) * (this.canvas.height / r.height);
    const T = this.transform(this.info());
    return { sx, sy, u: (sx - T.ox) / T.pu, v: (sy - T.oy) / T.pv };
  },

  onWheel(e) {
    if (!this.s) return;
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      const p = this.toDisplay(e);
      this.zoomAt(p.sx, p.sy, e.deltaY < 0 ? 1.15 : 1 / 1.15);
      return;
    }
    if (e.deltaY !== 0) this.step(e.deltaY < 0 ? 1 : -1, e.timeStamp);
  },

  /** Zoom by `factor` keeping the point under canvas pixel (`sx`, `sy`) in place. */
  zoomAt(sx, sy, factor) {
    const P = this.info();
    const T = this.transform(P);
    const view = this.panZoom();
    const u = (sx - T.ox) / T.pu, v = (sy - T.oy) / T.pv;
    view.zoom = Math.min(40, Math.max(0.2, view.zoom * factor));
    const T2 = this.transform(P);
    view.panX += sx - (T2.ox + u * T2.pu);
    view.panY += sy - (T2.oy + v * T2.pv);
    this.invalidate();
  },

  onDown(e) {
    if (!this.s || !this.loader()) return;
    const p = this.toDisplay(e);
    this.canvas.setPointerCapture(e.pointerId);
    const wl = this.wl[this.imageIndex];
    const view = this.panZoom();
    if (e.button === 2) { this.drag = { kind: "wl", x: e.clientX, y: e.clientY, c: wl.c, w: wl.w }; return; }
    if (e.button === 1) { this.drag = { kind: "pan", x: e.clientX, y: e.clientY, px: view.panX, py: view.panY }; return; }
    if (e.button !== 0) return;
    if (this.tool === "probe") {
      this.drag = { kind: "probe", x: e.clientX, y: e.clientY, px: view.panX, py: view.panY, moved: false, p };
    } else if (this.tool === "ruler") {
      if (!this.info().known) { this.setNote(NO_SPACING); return; }
      this.measure = { a: [p.u, p.v], b: [p.u, p.v], mm: 0 };
      this.drag = { kind: "ruler" };
    } else {
      const why = this.editable();
      if (why) { this.setNote(why); return; }
      this.setNote("");
      if (this.tool === "box") this.drag = this.boxGrab(p);
      else this.startStroke(p, e.shiftKey || this.erase);
    }
    this.invalidate();
  },

  onMove(e) {
    const p = this.s && this.image() ? this.toDisplay(e) : null;
    this.hover = p;
    const d = this.drag;
    if (d && d.kind === "wl") {
      const img = this.image();
      const sens = Math.max(0.1, (img.range[1] - img.range[0]) / 1024);
      this.mark("wl", e.timeStamp);
      this.setWindow(d.c + (e.clientY - d.y) * sens, d.w + (e.clientX - d.x) * sens, "drag");
    } else if (d && (d.kind === "pan" || d.kind === "probe")) {
      if (d.kind === "probe" && !d.moved && Math.hypot(e.clientX - d.x, e.clientY - d.y) < 4) { /* click */ }
      else {
        d.moved = true;
        const view = this.panZoom();
        view.panX = d.px + (e.clientX - d.x) * (this.canvas.width / this.canvas.getBoundingClientRect().width);
        view.panY = d.py + (e.clientY - d.y) * (this.canvas.height / this.canvas.getBoundingClientRect().height);
      }
    } else if (d && d.kind === "ruler") {
      this.measure.b = [p.u, p.v];
      const P = this.info();
      this.measure.mm = Math.hypot((p.u - this.measure.a[0]) * P.su, (p.v - this.measure.a[1]) * P.sv);
    } else if (d && d.kind === "box") {
      this.moveBox(d, p);
    } else if (d && d.kind === "stroke") {
      this.continueStroke(d, p);
    }
    this.updateReadout();
    this.invalidate();
  },

  onUp() {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (d.kind === "probe" && !d.moved) this.probe(d.p);
    else if (d.kind === "box") this.finishBox(d);
    else if (d.kind === "stroke") this.finishStroke(d);
    this.invalidate();
  },

  /** Move the cursor to the voxel under display point `p` and show its value. */
  probe(p) {
    const img = this.image();
    const P = this.info();
    const u = Math.floor(p.u), v = Math.floor(p.v);
    if (u < 0 || v < 0 || u >= P.nu || v >= P.nv) return;
    const voxel = voxelAt(img, this.plane, this.cursor, u, v);
    this.cursor = voxel.slice();
    this.probed = { voxel, value: this.valueAt(voxel) };
    this.updateReadout();
  },
};
