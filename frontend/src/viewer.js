// The reading viewer: one Canvas2D, the study's stored values in typed arrays, windowing through a
// lookup table, overlays composited from the label/heat maps, tools (probe, box, brush, ruler) whose
// edits leave as events for the Gradio side (app/viewer_bridge.py). No server round trip for reading.
//
// `Viewer` owns the state and the navigation (image, plane, slice, zoom/pan); its other methods come
// from one module per concern, mixed into its prototype (`this` is the viewer in all of them):
// toolbar.js (DOM, controls, text lines), state.js (the case from the page, loading), input.js (keys,
// wheel, pointer), edits.js (box and brush edits), render.js (painting, render-ahead),
// annotations.js (boxes, strokes, lines, ruler, letters). See docs/viewer.md for the module map.

import { annotations } from "./annotations.js";
import { edits } from "./edits.js";
import { NORMAL, planeInfo, sliceOf } from "./geometry.js";
import { input } from "./input.js";
import { CACHE_MB, SliceCache } from "./paint.js";
import { render } from "./render.js";
import { state } from "./state.js";
import { keep, markInput, newStats } from "./stats.js";
import { toolbar } from "./toolbar.js";

const CINE_FPS = 15;

export class Viewer {
  constructor(root, bridge) {
    this.root = root;
    this.bridge = bridge;
    this.s = null; // state JSON
    this.loaders = new Map(); // image index → VolumeLoader
    this.imageIndex = 0;
    this.plane = "axial";
    this.cursor = [0, 0, 0];
    this.views = {}; // plane → {zoom, panX, panY}
    this.wl = {}; // image index → {c, w, name}
    this.tool = "probe";
    this.erase = false;
    this.brushMm = 5;
    // all: every finding's masks and boxes; off: only the selected finding's (all when none is selected),
    // so the overlays never bury the image a radiologist is reading
    this.show = { overlays: true, masks: true, all: false, heat: false, boxes: true, lines: true };
    this.opacity = 0.35;
    this.labels = null; // {key, names, colors, data}
    this.labelsLoading = null; // the key of the label map being fetched
    this.heat = null; // {url, data}
    this.measure = null; // {a: [u, v], b: [u, v], mm}
    this.probed = null; // {voxel, value}: the last probe
    this.strokes = []; // pending brush strokes shown until the new label map arrives
    this.pendingBox = null; // a box edit shown ("saving…") until the state confirms it
    this.drag = null;
    this.hover = null;
    this.note = "";
    this.cine = null;
    this.base = { key: "", canvas: document.createElement("canvas"), data: null, pix: null };
    this.over = { key: "", canvas: document.createElement("canvas"), data: null, pix: null, any: false };
    this.lut = { key: "", table: null, offset: 0 };
    // render-ahead: windowed slices (and their overlays) painted in idle time ahead of the scroll
    this.cache = new SliceCache(CACHE_MB * 2 ** 20); // ImageBitmaps: windowed, overlays composited
    this.rendering = null; // the render-ahead's scratch canvases
    this.shownKey = "";
    this.cacheOn = true; // off: every paint takes the synchronous path (tests compare both)
    this.dir = 0; // scroll direction: +1, −1, 0 unknown
    this.wlAt = -1e9; // when the window last changed (render-ahead waits while W/L is being dragged)
    this.ahead = 0;
    this.palette = { key: "", colors: new Uint32Array(256), heat: new Uint32Array(256) };
    this.stats = newStats();
    this.frame = 0;
    this.urlTimer = 0;
    this.appliedView = "";
    this.build();
  }

  image() { return this.s ? this.s.images[this.imageIndex] : null; }
  loader() { return this.loaders.get(this.imageIndex) || null; }
  isVolume() { const img = this.image(); return !!img && img.ndim === 3; }
  selected() { return this.s && this.s.findings.find((f) => f.selected) || null; }

  // ------------------------------------------------------------------------------------ view geometry

  info() { return planeInfo(this.image(), this.plane); }

  /** The zoom and pan of the current plane (made on first use). */
  panZoom() {
    let view = this.views[this.plane];
    if (!view) view = this.views[this.plane] = { zoom: 1, panX: 0, panY: 0 };
    return view;
  }

  /** Display pixels of plane `P` → canvas pixels: `x = ox + u·pu`, `y = oy + v·pv` (square in mm). */
  transform(P) {
    const w = this.canvas.width, h = this.canvas.height;
    const view = this.panZoom();
    const fit = Math.min(w / (P.nu * P.su), h / (P.nv * P.sv));
    const scale = fit * view.zoom; // screen px per mm
    const ox = (w - P.nu * P.su * scale) / 2 + view.panX;
    const oy = (h - P.nv * P.sv * scale) / 2 + view.panY;
    return { scale, ox, oy, pu: P.su * scale, pv: P.sv * scale };
  }

  /** The stored value at `voxel` [k, i, j] of the current image (null until its slice has arrived). */
  valueAt(voxel) {
    const img = this.image(), l = this.loader();
    if (!img || !l) return null;
    const [nk, ni, nj] = img.shape;
    const [k, i, j] = voxel;
    if (k < 0 || i < 0 || j < 0 || k >= nk || i >= ni || j >= nj || !l.loaded[k]) return null;
    return l.data[(k * ni + i) * nj + j];
  }

  // --------------------------------------------------------------------------------------- navigation

  setPlane(plane) {
    if (!this.isVolume()) return;
    this.plane = plane;
    this.dir = 0;
    this.measure = null;
    this.fillControls();
    this.writeUrl();
    this.invalidate();
  }

  setImage(n) {
    if (!this.s || !this.s.images[n]) return;
    this.imageIndex = n;
    this.plane = this.s.images[n].ndim === 3 ? (this.plane === "image" ? "axial" : this.plane) : "image";
    this.forget();
    this.measure = null;
    this.startLoading(n);
    this.fillControls();
    this.invalidate();
  }

  sliceCount() {
    const img = this.image();
    return img ? planeInfo(img, this.plane).n : 1;
  }

  slice() { return sliceOf(this.plane, this.cursor); }

  setSlice(index, url = true) {
    if (!this.isVolume()) return;
    const n = this.sliceCount();
    const before = this.slice();
    this.cursor[NORMAL[this.plane]] = Math.min(n - 1, Math.max(0, Math.round(index)));
    if (this.slice() !== before) this.dir = Math.sign(this.slice() - before);
    if (this.plane === "axial") this.loader()?.want(this.cursor[0]);
    if (url) this.writeUrl();
    this.invalidate();
  }

  /** Remember when an input asked for a repaint (input → painted latency, for `radreview bench ui`). */
  mark(kind, at = performance.now()) { markInput(this.stats, kind, at); }

  step(d, at) {
    this.stats.steps++;
    const before = this.slice();
    this.setSlice(before + d);
    if (this.slice() !== before) {
      this.mark("slice", at);
      keep(this.stats.stepTimes, at ?? performance.now(), 500);
    }
  }

  toggleCine() {
    if (this.cine) { clearInterval(this.cine); this.cine = null; }
    else if (this.isVolume()) {
      this.cine = setInterval(() => this.setSlice((this.slice() + 1) % this.sliceCount()), 1000 / CINE_FPS);
    }
    this.bar.querySelector("[data-action=cine]").classList.toggle("rr-on", !!this.cine);
  }

  resetView() {
    delete this.views[this.plane];
    this.invalidate();
  }

  toggleOverlays(at) {
    this.mark("overlay", at);
    this.show.overlays = !this.show.overlays;
    const box = this.bar.querySelector("[data-show=overlays]");
    if (box) box.checked = this.show.overlays;
    this.invalidate();
  }

  /** What tests and the benchmark read (no internals beyond this). */
  snapshot() {
    const img = this.image(), l = this.loader();
    return {
      case: this.s ? this.s.case : null, selected: this.s ? this.s.selected : null, plane: this.plane, slice: img ? this.slice() : null,
      cursor: this.cursor.slice(), tool: this.tool, window: this.wl[this.imageIndex] || null,
      loaded: l ? l.nLoaded : 0, slices: l ? l.loaded.length : 0, bytes: [...this.loaders.values()].reduce((a, x) => a + x.bytes, 0),
      measureMm: this.measure ? this.measure.mm : null, probed: this.probed || null,
      zoom: (this.views[this.plane] || { zoom: 1 }).zoom, overlays: this.show.overlays,
      labels: this.labels ? this.labels.key : null, pending: this.bridge.busy || this.bridge.queue.length > 0,
      firstPaintMs: this.stats.firstPaint, firstPaintAt: this.stats.firstPaintAt, paints: this.stats.paints.slice(), paintHit: this.stats.paintHit.slice(), windowMs: this.stats.windowMs.slice(),
      cache: { entries: this.cache.size, bytes: this.cache.bytes, ahead: this.stats.ahead, on: this.cacheOn },
      steps: this.stats.steps, latency: this.stats.latency, stepTimes: this.stats.stepTimes.slice(), painted: this.stats.painted.slice(), drawn: this.stats.lastDraw || null,
      transform: img ? this.transform(this.info()) : null, info: img ? this.info() : null,
    };
  }
}

/** Put the methods of each part onto `cls.prototype`; a name defined twice is an error (no silent override). */
export function compose(cls, ...parts) {
  for (const part of parts) {
    for (const name of Object.keys(part)) {
      if (name in cls.prototype) throw new Error(`${cls.name}.${name} is defined twice`);
      cls.prototype[name] = part[name];
    }
  }
  return cls;
}

compose(Viewer, toolbar, state, input, edits, render, annotations);
