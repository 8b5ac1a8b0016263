// The reading viewer: one Canvas2D, the study's stored values in typed arrays, windowing through a
// lookup table, overlays composited from the label/heat maps, tools (probe, box, brush, ruler) whose
// edits leave as events for the Gradio side (app/viewer_bridge.py). No server round trip for reading.

import {
  LETTERS, NORMAL, boxToDisplay, cutLayout, displayOf, displayToBox, encodeRle, planeInfo, sliceOf,
  voxelAt, windowByte,
} from "./geometry.js";
import { VolumeLoader, fetchBytes } from "./loader.js";
import {
  CACHE_MB, SliceCache, aheadOrder, overlaySlice, sliceLoaded, windowSlice, windowTable,
} from "./paint.js";

const TOOLS = { probe: "p", box: "b", brush: "g", ruler: "m" };
const HANDLE = 7; // px: box corner/edge grab distance
const CINE_FPS = 15;

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) node.append(kid);
  return node;
}

function jet(x) {
  const c = (t) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - t))));
  return [c(3), c(2), c(1)];
}

const fmt = (x) => (Math.abs(x) >= 100 || Number.isInteger(x) ? String(Math.round(x)) : x.toPrecision(4));

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
    this.heat = null; // {url, data}
    this.measure = null; // {a: [u, v], b: [u, v], mm}
    this.strokes = []; // pending brush strokes shown until the new label map arrives
    this.drag = null;
    this.hover = null;
    this.note = "";
    this.cine = null;
    this.base = { key: "", canvas: document.createElement("canvas"), data: null, pix: null };
    this.over = { key: "", canvas: document.createElement("canvas"), data: null, pix: null, any: false };
    this.lut = { key: "", table: null, offset: 0 };
    // render-ahead: windowed slices (and their overlays) painted in idle time ahead of the scroll
    this.cache = new SliceCache(CACHE_MB * 2 ** 20); // ImageBitmaps: windowed, overlays composited
    this.shownKey = "";
    this.cacheOn = true; // off: every paint takes the synchronous path (tests compare both)
    this.dir = 0; // scroll direction: +1, −1, 0 unknown
    this.wlAt = -1e9; // when the window last changed (render-ahead waits while W/L is being dragged)
    this.ahead = 0;
    this.palette = { key: "", colors: new Uint32Array(256), heat: new Uint32Array(256) };
    this.stats = { paints: [], paintHit: [], firstPaint: null, firstPaintAt: null, caseSetAt: null, steps: 0,
      latency: { slice: [], wl: [], overlay: [] }, input: null, stepTimes: [], painted: [], ahead: 0,
      windowMs: [] };
    this.frame = 0;
    this.urlTimer = 0;
    this.appliedView = "";
    this.build();
  }

  // ------------------------------------------------------------------------------------------ DOM

  build() {
    const tool = (name, label, key) =>
      el("button", { type: "button", class: "rr-vw-tool", "data-tool": name, title: `${label} (${key})`,
        onclick: () => this.setTool(name) }, label);
    const check = (name, label, title) => {
      const box = el("input", { type: "checkbox", "data-show": name, onchange: (e) => {
        this.show[name] = e.target.checked;
        if (name === "heat") this.refreshHeat();
        this.mark("overlay");
        this.invalidate(); } });
      box.checked = this.show[name];
      return el("label", { class: "rr-vw-check", title }, box, label);
    };
    this.presetSel = el("select", { class: "rr-vw-preset", title: "window preset (w)",
      onchange: (e) => this.applyPreset(Number(e.target.value)) });
    const num = (title) => el("input", { type: "number", class: "rr-vw-num", title, onkeydown: (e) => {
      if (e.key === "Enter") { this.applyTyped(); e.target.blur(); } }, onchange: () => this.applyTyped() });
    this.cInput = num("window center (level)");
    this.wInput = num("window width");
    this.planeBar = el("span", { class: "rr-vw-group" },
      ...["axial", "coronal", "sagittal"].map((p, n) => el("button", { type: "button", "data-plane": p,
        title: `${p} (${n + 1})`, onclick: () => this.setPlane(p) }, p.slice(0, 3))));
    this.imageBar = el("span", { class: "rr-vw-group" });
    this.opacityInput = el("input", { type: "range", min: "0", max: "1", step: "0.05", value: String(this.opacity),
      title: "mask opacity", class: "rr-vw-opacity",
      oninput: (e) => { this.opacity = Number(e.target.value); this.invalidate(); } });
    this.readout = el("span", { class: "rr-vw-readout", "data-testid": "rr-readout" });
    this.infoEl = el("span", { class: "rr-vw-info", "data-testid": "rr-info" });
    this.bar = el("div", { class: "rr-vw-bar" },
      el("span", { class: "rr-vw-group" }, tool("probe", "Probe", "p"), tool("box", "Box", "b"),
        tool("brush", "Brush", "g"), tool("ruler", "Ruler", "m"),
        el("button", { type: "button", title: "undo my last box/mask edit (ctrl+z)", "data-action": "undo",
          onclick: () => this.undo() }, "Undo")),
      this.planeBar, this.imageBar,
      el("span", { class: "rr-vw-group" }, this.presetSel, el("span", {}, "C"), this.cInput,
        el("span", {}, "W"), this.wInput),
      el("span", { class: "rr-vw-group" }, check("overlays", "overlays", "all overlays (o)"),
        check("masks", "masks", "region masks"),
        check("all", "all", "masks and boxes of every finding (off: the selected finding's only)"),
        check("heat", "heat", "attention heat map"),
        check("boxes", "boxes", "boxes"), check("lines", "lines", "reference lines"), this.opacityInput),
      el("span", { class: "rr-vw-group" },
        el("button", { type: "button", "data-action": "cine", title: "cine (c)", onclick: () => this.toggleCine() },
          "Cine"),
        el("button", { type: "button", "data-action": "reset", title: "reset zoom/pan (0)",
          onclick: () => this.resetView() }, "Reset")),
      this.infoEl);
    this.canvas = el("canvas", { class: "rr-vw-canvas", "data-testid": "rr-canvas", tabindex: "-1" });
    this.noteEl = el("div", { class: "rr-vw-note", "data-testid": "rr-note" });
    this.stage = el("div", { class: "rr-vw-stage" }, this.canvas, this.noteEl);
    this.foot = el("div", { class: "rr-vw-foot" }, this.readout);
    this.root.replaceChildren(el("div", { class: "rr-vw" }, this.bar, this.stage, this.foot));
    this.ctx = this.canvas.getContext("2d", { alpha: false });
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.onDown(e));
    c.addEventListener("pointermove", (e) => this.onMove(e));
    c.addEventListener("pointerup", (e) => this.onUp(e));
    c.addEventListener("pointercancel", () => { this.drag = null; });
    c.addEventListener("pointerleave", () => { this.hover = null; this.updateReadout(); this.invalidate(); });
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.stageSize = { w: 1, h: 1 };
    // the stage size comes from the observer, so a paint never forces a layout of the page
    new ResizeObserver((entries) => {
      const r = entries[entries.length - 1].contentRect;
      this.stageSize = { w: r.width, h: r.height };
      this.invalidate();
    }).observe(this.stage);
    this.setTool("probe");
  }

  attach(root) {
    // Gradio re-rendered the host: move the built DOM into the new one (data stays).
    this.root = root;
    root.replaceChildren(this.canvas.closest(".rr-vw"));
    const r = this.stage.getBoundingClientRect();
    this.stageSize = { w: r.width, h: r.height };
    this.invalidate();
  }

  // ---------------------------------------------------------------------------------------- state

  image() { return this.s ? this.s.images[this.imageIndex] : null; }
  loader() { return this.loaders.get(this.imageIndex) || null; }
  isVolume() { const img = this.image(); return !!img && img.ndim === 3; }
  selected() { return this.s && this.s.findings.find((f) => f.selected) || null; }

  setState(text) {
    if (!text) { this.s = null; this.setNote("open a case to see its images"); this.invalidate(); return; }
    let s;
    try { s = JSON.parse(text); } catch (err) { this.setNote(`viewer state unreadable: ${err}`); return; }
    const prev = this.s;
    const sameCase = prev && prev.case === s.case && prev.images.length === s.images.length
      && prev.images.every((im, n) => im.url === s.images[n].url && String(im.shape) === String(s.images[n].shape));
    this.s = s;
    if (!sameCase) this.openCase(s);
    const view = s.view ? JSON.stringify(s.view) : "";
    if (view && view !== this.appliedView) this.applyView(s.view);
    else if (s.selected && (!prev || !sameCase || prev.selected !== s.selected) && s.focus) this.jumpTo(s.focus);
    this.appliedView = view;
    this.refreshLabels();
    this.refreshHeat();
    this.fillControls();
    this.bridge.onState(s.rev);
    if (!this.bridge.busy) {
      this.pendingBox = null;
      if (!s.labels || (this.labels && this.labels.key === s.labels.key)) this.strokes = [];
    }
    this.writeUrl();
    this.invalidate();
  }

  openCase(s) {
    for (const l of this.loaders.values()) l.close();
    this.loaders.clear();
    this.imageIndex = 0;
    this.views = {};
    this.wl = {};
    this.labels = null;
    this.heat = null;
    this.measure = null;
    this.strokes = [];
    this.base.key = this.over.key = this.shownKey = "";
    this.cache.clear();
    this.dir = 0;
    this.stats.caseSetAt = performance.now();
    this.stats.firstPaint = this.stats.firstPaintAt = null;
    s.images.forEach((img, n) => { this.wl[n] = { c: img.window.center, w: img.window.width, name: img.window.name }; });
    const img = s.images[0];
    this.plane = img.ndim === 3 ? "axial" : "image";
    const [nk, ni, nj] = img.shape;
    this.cursor = [Math.floor(nk / 2), Math.floor(ni / 2), Math.floor(nj / 2)];
    if (!s.view && s.focus) this.jumpTo(s.focus, false);
    this.startLoading(0);
    this.setNote("");
  }

  startLoading(index) {
    if (this.loaders.has(index)) return;
    const img = this.s.images[index];
    const loader = new VolumeLoader(img, (k0, k1, err) => {
      if (err) this.setNote(`pixels: ${err}`);
      if (this.imageIndex === index) this.invalidate();
    });
    this.loaders.set(index, loader);
    loader.want(img.ndim === 3 ? this.cursor[0] : 0);
  }

  applyView(view) {
    const img = this.image();
    if (!img) return;
    // the workspace arms an editing tool only on an explicit request (an edit saved with "re-ground")
    if (["box", "brush"].includes(view.tool)) this.setTool(view.tool);
    if (img.ndim === 3 && ["axial", "coronal", "sagittal"].includes(view.plane)) this.plane = view.plane;
    if (Number.isInteger(view.slice) || /^\d+$/.test(String(view.slice ?? ""))) {
      this.setSlice(Number(view.slice), false);
    } else if (this.s.focus) this.jumpTo(this.s.focus);
  }

  jumpTo(focus, paint = true) {
    const img = this.s.images[0];
    if (!img) return;
    const [nk, ni, nj] = img.shape;
    const at = (c, n) => Math.min(n - 1, Math.max(0, Math.round(c * n - 0.5)));
    if (focus.length === 3 && img.ndim === 3) this.cursor = [at(focus[2], nk), at(focus[1], ni), at(focus[0], nj)];
    else if (focus.length === 2) this.cursor = [0, at(focus[1], ni), at(focus[0], nj)];
    const l = this.loader();
    if (l) l.want(this.cursor[0]);
    if (paint) this.invalidate();
  }

  async refreshLabels() {
    const spec = this.s && this.s.labels;
    if (!spec) { this.labels = null; this.strokes = []; return; }
    if (this.labels && this.labels.key === spec.key) return;
    if (this.labelsLoading === spec.key) return;
    this.labelsLoading = spec.key;
    try {
      const data = await fetchBytes(spec.url);
      if (!this.s || !this.s.labels || this.s.labels.key !== spec.key) return;
      this.labels = { ...spec, data };
      this.strokes = [];
      this.over.key = "";
      this.invalidate();
    } catch (err) { this.setNote(`label map: ${err}`); } finally { this.labelsLoading = null; }
  }

  heatUrl() {
    const f = this.selected();
    if (!f) return null;
    const p = f.phrases.find((ph) => ph.heat);
    return p ? p.heat : null;
  }

  async refreshHeat() {
    const url = this.heatUrl();
    if (!url || !this.show.heat) return;
    if (this.heat && this.heat.url === url) return;
    try {
      const data = await fetchBytes(url);
      this.heat = { url, data };
      this.over.key = "";
      this.invalidate();
    } catch (err) { this.setNote(`heat map: ${err}`); }
  }

  // ------------------------------------------------------------------------------------- controls

  fillControls() {
    const img = this.image();
    if (!img) return;
    const presets = img.presets;
    this.presetSel.replaceChildren(el("option", { value: "-1" }, "preset…"),
      ...presets.map((p, n) => el("option", { value: String(n) }, `${p.name} (${fmt(p.center)}/${fmt(p.width)})`)));
    const [lo, hi] = img.range;
    const span = Math.max(1, hi - lo);
    this.cInput.min = String(Math.floor(lo - span)); this.cInput.max = String(Math.ceil(hi + span));
    this.wInput.min = "1"; this.wInput.max = String(Math.ceil(2 * span));
    this.showWindow();
    for (const b of this.planeBar.querySelectorAll("button")) {
      b.disabled = img.ndim !== 3;
      b.classList.toggle("rr-on", b.dataset.plane === this.plane);
    }
    this.imageBar.replaceChildren(...(this.s.images.length > 1 ? this.s.images.map((im, n) =>
      el("button", { type: "button", class: n === this.imageIndex ? "rr-on" : "", "data-image": String(n),
        onclick: () => this.setImage(n) }, (im.view || (n ? `image ${n + 1}` : "frontal")).toLowerCase())) : []));
  }

  showWindow() {
    const wl = this.wl[this.imageIndex];
    if (!wl) return;
    if (document.activeElement !== this.cInput) this.cInput.value = fmt(wl.c);
    if (document.activeElement !== this.wInput) this.wInput.value = fmt(wl.w);
    const img = this.image();
    const n = img ? img.presets.findIndex((p) => p.name === wl.name && p.center === wl.c && p.width === wl.w) : -1;
    this.presetSel.value = String(n);
  }

  applyPreset(n) {
    const img = this.image();
    const p = img && img.presets[n];
    if (!p) return;
    this.wl[this.imageIndex] = { c: p.center, w: p.width, name: p.name };
    this.wlAt = performance.now();
    this.showWindow();
    this.invalidate();
  }

  nextPreset() {
    const img = this.image();
    if (!img || !img.presets.length) return;
    const cur = img.presets.findIndex((p) => p.name === this.wl[this.imageIndex].name);
    this.applyPreset((cur + 1) % img.presets.length);
  }

  applyTyped() {
    const c = Number(this.cInput.value), w = Number(this.wInput.value);
    if (!Number.isFinite(c) || !Number.isFinite(w) || w < 1) {
      this.setNote("window: type a center and a width ≥ 1"); return;
    }
    this.setWindow(c, w, "typed");
  }

  setWindow(c, w, name = "manual") {
    this.wl[this.imageIndex] = { c, w: Math.max(1, w), name };
    this.wlAt = performance.now();
    this.showWindow();
    this.invalidate();
  }

  setTool(name) {
    this.tool = name;
    this.drag = null;
    for (const b of this.bar.querySelectorAll("[data-tool]")) b.classList.toggle("rr-on", b.dataset.tool === name);
    this.canvas.dataset.tool = name;
    if (name === "ruler" && this.image() && !planeInfo(this.image(), this.plane).known) {
      this.setNote("this image has no pixel spacing: the ruler cannot measure mm");
    }
    this.invalidate();
  }

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
    this.base.key = this.over.key = this.shownKey = "";
    this.cache.clear();
    this.dir = 0;
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
  mark(kind, at = performance.now()) {
    if (!this.stats.input) this.stats.input = { kind, at };
  }

  step(d, at) {
    this.stats.steps++;
    const before = this.slice();
    this.setSlice(before + d);
    if (this.slice() !== before) {
      this.mark("slice", at);
      this.stats.stepTimes.push(at ?? performance.now());
      if (this.stats.stepTimes.length > 500) this.stats.stepTimes.shift();
    }
  }

  toggleCine() {
    if (this.cine) { clearInterval(this.cine); this.cine = null; }
    else if (this.isVolume()) {
      this.cine = setInterval(() => {
        const n = this.sliceCount();
        this.setSlice((this.slice() + 1) % n);
      }, 1000 / CINE_FPS);
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

  undo() {
    if (!this.s) return;
    this.bridge.send({ type: "undo", case: this.s.case });
  }

  setNote(text) {
    this.note = text;
    this.noteEl.textContent = text;
    this.noteEl.hidden = !text;
  }

  writeUrl() {
    if (this.urlTimer) return;
    this.urlTimer = setTimeout(() => {
      this.urlTimer = 0;
      if (!this.s) return;
      const q = new URLSearchParams(window.location.search);
      q.set("case", this.s.case);
      if (this.s.selected) q.set("finding", this.s.selected); else q.delete("finding");
      q.set("plane", this.plane);
      q.set("slice", String(this.slice()));
      const url = `${window.location.pathname}?${q.toString()}${window.location.hash}`;
      if (url !== window.location.pathname + window.location.search + window.location.hash) {
        window.history.replaceState(window.history.state, "", url);
      }
    }, 150);
  }

  // ------------------------------------------------------------------------------------ keyboard

  /** Document-level keys (capture phase); returns true when the key was ours. */
  onKey(e) {
    if (!this.s) return false;
    const k = e.key;
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (k === "z" || k === "Z")) { this.undo(); return true; }
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const steps = { ArrowUp: 1, ArrowDown: -1, PageUp: 10, PageDown: -10 };
    if (k in steps) { this.step(steps[k], e.timeStamp); return true; }
    if (k === "Home") { this.setSlice(0); return true; }
    if (k === "End") { this.setSlice(this.sliceCount() - 1); return true; }
    if (e.repeat) return false;
    const tools = { p: "probe", b: "box", g: "brush", m: "ruler" };
    if (k in tools) { this.setTool(tools[k]); return true; }
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
    const planes = { 1: "axial", 2: "coronal", 3: "sagittal" };
    if (k in planes && this.isVolume()) { this.setPlane(planes[k]); return true; }
    return false;
  }

  // -------------------------------------------------------------------------------------- geometry

  info() { return planeInfo(this.image(), this.plane); }

  transform(P) {
    const w = this.canvas.width, h = this.canvas.height;
    const view = this.views[this.plane] || { zoom: 1, panX: 0, panY: 0 };
    const fit = Math.min(w / (P.nu * P.su), h / (P.nv * P.sv));
    const scale = fit * view.zoom; // screen px per mm
    const ox = (w - P.nu * P.su * scale) / 2 + view.panX;
    const oy = (h - P.nv * P.sv * scale) / 2 + view.panY;
    return { scale, ox, oy, pu: P.su * scale, pv: P.sv * scale };
  }

  toDisplay(e) {
    const r = this.canvas.getBoundingClientRect();
    const sx = (e.clientX - r.left) * (this.canvas.width / r.width);
    const sy = (e.clientY - r.top) * (this.canvas.height / r.height);
    const T = this.transform(this.info());
    return { sx, sy, u: (sx - T.ox) / T.pu, v: (sy - T.oy) / T.pv };
  }

  toScreen(u, v) {
    const T = this.transform(this.info());
    return [T.ox + u * T.pu, T.oy + v * T.pv];
  }

  valueAt(voxel) {
    const img = this.image(), l = this.loader();
    if (!img || !l) return null;
    const [nk, ni, nj] = img.shape;
    const [k, i, j] = voxel;
    if (k < 0 || i < 0 || j < 0 || k >= nk || i >= ni || j >= nj || !l.loaded[k]) return null;
    return l.data[(k * ni + i) * nj + j];
  }

  // ----------------------------------------------------------------------------------------- mouse

  onWheel(e) {
    if (!this.s) return;
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      const p = this.toDisplay(e);
      this.zoomAt(p.sx, p.sy, e.deltaY < 0 ? 1.15 : 1 / 1.15);
      return;
    }
    if (e.deltaY !== 0) this.step(e.deltaY < 0 ? 1 : -1, e.timeStamp);
  }

  zoomAt(sx, sy, factor) {
    const P = this.info();
    const T = this.transform(P);
    const view = this.views[this.plane] || { zoom: 1, panX: 0, panY: 0 };
    const u = (sx - T.ox) / T.pu, v = (sy - T.oy) / T.pv;
    view.zoom = Math.min(40, Math.max(0.2, view.zoom * factor));
    this.views[this.plane] = view;
    const T2 = this.transform(P);
    view.panX += sx - (T2.ox + u * T2.pu);
    view.panY += sy - (T2.oy + v * T2.pv);
    this.invalidate();
  }

  editable() {
    if (!this.s) return "no case is open";
    if (this.s.signed) return "the report is signed: groundings are read-only";
    if (!this.selected()) return "select a finding first (j/k or click it in the report)";
    if (this.imageIndex !== 0) return "boxes and masks are edited on the first image";
    return "";
  }

  onDown(e) {
    if (!this.s || !this.loader()) return;
    const p = this.toDisplay(e);
    this.canvas.setPointerCapture(e.pointerId);
    const wl = this.wl[this.imageIndex];
    const view = this.views[this.plane] || { zoom: 1, panX: 0, panY: 0 };
    this.views[this.plane] = view;
    if (e.button === 2) { this.drag = { kind: "wl", x: e.clientX, y: e.clientY, c: wl.c, w: wl.w }; return; }
    if (e.button === 1) { this.drag = { kind: "pan", x: e.clientX, y: e.clientY, px: view.panX, py: view.panY }; return; }
    if (e.button !== 0) return;
    if (this.tool === "probe") {
      this.drag = { kind: "probe", x: e.clientX, y: e.clientY, px: view.panX, py: view.panY, moved: false, p };
    } else if (this.tool === "ruler") {
      if (!this.info().known) { this.setNote("this image has no pixel spacing: the ruler cannot measure mm"); return; }
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
  }

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
        const view = this.views[this.plane];
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
  }

  onUp(e) {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (d.kind === "probe" && !d.moved) this.probe(d.p);
    else if (d.kind === "box") this.finishBox(d);
    else if (d.kind === "stroke") this.finishStroke(d);
    this.invalidate();
  }

  probe(p) {
    const img = this.image();
    const P = this.info();
    const u = Math.floor(p.u), v = Math.floor(p.v);
    if (u < 0 || v < 0 || u >= P.nu || v >= P.nv) return;
    const voxel = voxelAt(img, this.plane, this.cursor, u, v);
    this.cursor = voxel.slice();
    this.probed = { voxel, value: this.valueAt(voxel) };
    this.updateReadout();
  }

  updateReadout() {
    const img = this.image();
    if (!img) { this.readout.textContent = ""; return; }
    const parts = [];
    const P = this.info();
    const h = this.hover;
    if (h && h.u >= 0 && h.v >= 0 && h.u < P.nu && h.v < P.nv) {
      const voxel = voxelAt(img, this.plane, this.cursor, Math.floor(h.u), Math.floor(h.v));
      const val = this.valueAt(voxel);
      const at = img.ndim === 3 ? `[k ${voxel[0]}, i ${voxel[1]}, j ${voxel[2]}]` : `[row ${voxel[1]}, col ${voxel[2]}]`;
      parts.push(`${val === null ? "…" : fmt(val)}${img.unit ? " " + img.unit : ""} at ${at}`);
    }
    if (this.probed) {
      const [k, i, j] = this.probed.voxel;
      const val = this.probed.value;
      parts.push(`probe ${val === null ? "…" : fmt(val)}${img.unit ? " " + img.unit : ""} at ${img.ndim === 3 ? `[${k}, ${i}, ${j}]` : `[${i}, ${j}]`}`);
    }
    if (this.measure) parts.push(`ruler ${this.measure.mm.toFixed(1)} mm`);
    this.readout.textContent = parts.join(" · ");
  }

  // ------------------------------------------------------------------------------------------ boxes

  selectedBoxes() {
    // [{phrase, box, rect}] of the selected finding in this plane/slice
    const f = this.selected();
    const img = this.image();
    if (!f || !img || this.imageIndex !== 0) return [];
    const out = [];
    f.phrases.forEach((ph, n) => ph.boxes.forEach((box) => {
      const rect = boxToDisplay(img, this.plane, this.slice(), box);
      if (rect) out.push({ phrase: n, box, rect });
    }));
    return out;
  }

  boxGrab(p) {
    const T = this.transform(this.info());
    const hits = this.selectedBoxes();
    for (const h of hits) {
      const r = h.rect;
      const sx0 = T.ox + r.u0 * T.pu, sx1 = T.ox + r.u1 * T.pu, sy0 = T.oy + r.v0 * T.pv, sy1 = T.oy + r.v1 * T.pv;
      const inY = p.sy > sy0 - HANDLE && p.sy < sy1 + HANDLE, inX = p.sx > sx0 - HANDLE && p.sx < sx1 + HANDLE;
      const edges = {
        u0: inY && Math.abs(p.sx - sx0) < HANDLE, u1: inY && Math.abs(p.sx - sx1) < HANDLE,
        v0: inX && Math.abs(p.sy - sy0) < HANDLE, v1: inX && Math.abs(p.sy - sy1) < HANDLE,
      };
      const anyEdge = Object.values(edges).some(Boolean);
      if (anyEdge || (p.sx > sx0 && p.sx < sx1 && p.sy > sy0 && p.sy < sy1)) {
        return { kind: "box", mode: anyEdge ? "resize" : "move", edges, start: p, orig: { ...r }, rect: { ...r },
          phrase: h.phrase, base: h.box };
      }
    }
    const f = this.selected();
    const idx = this.s.view && Number.isInteger(this.s.view.phrase) ? this.s.view.phrase
      : f.phrases.findIndex((ph) => ph.boxes.length);
    return { kind: "box", mode: "new", start: p, rect: { u0: p.u, v0: p.v, u1: p.u, v1: p.v },
      phrase: idx >= 0 ? idx : null, base: null };
  }

  moveBox(d, p) {
    const P = this.info();
    const du = p.u - d.start.u, dv = p.v - d.start.v;
    const r = d.rect;
    if (d.mode === "new") { r.u1 = p.u; r.v1 = p.v; }
    else if (d.mode === "move") {
      const w = d.orig.u1 - d.orig.u0, h = d.orig.v1 - d.orig.v0;
      r.u0 = Math.min(Math.max(d.orig.u0 + du, 0), P.nu - w); r.u1 = r.u0 + w;
      r.v0 = Math.min(Math.max(d.orig.v0 + dv, 0), P.nv - h); r.v1 = r.v0 + h;
    } else {
      for (const key of ["u0", "u1"]) if (d.edges[key]) r[key] = d.orig[key] + du;
      for (const key of ["v0", "v1"]) if (d.edges[key]) r[key] = d.orig[key] + dv;
    }
    d.changed = true;
  }

  finishBox(d) {
    if (!d.changed) return;
    const r = d.rect;
    if (Math.abs(r.u1 - r.u0) < 2 || Math.abs(r.v1 - r.v0) < 2) { this.setNote("box too small: drag a rectangle"); return; }
    const box = displayToBox(this.image(), this.plane, this.slice(), r, d.base);
    const f = this.selected();
    this.pendingBox = { finding: f.id, phrase: d.phrase, box, rect: { ...r }, plane: this.plane, slice: this.slice() };
    this.bridge.send({ type: "move_box", case: this.s.case, finding: f.id, phrase: d.phrase, box });
  }

  // ------------------------------------------------------------------------------------------ brush

  startStroke(p, erase) {
    const P = this.info();
    const d = { kind: "stroke", erase, bits: new Uint8Array(P.nu * P.nv), nu: P.nu, nv: P.nv,
      plane: this.plane, slice: this.slice(), last: null };
    this.continueStroke(d, p);
    this.drag = d;
  }

  continueStroke(d, p) {
    const P = this.info();
    const ru = P.known ? this.brushMm / P.su : this.brushMm, rv = P.known ? this.brushMm / P.sv : this.brushMm;
    const from = d.last || p;
    const dist = Math.hypot(p.u - from.u, p.v - from.v);
    const n = Math.max(1, Math.ceil(dist / Math.max(0.5, Math.min(ru, rv) / 2)));
    for (let s = 0; s <= n; s++) {
      const cu = from.u + ((p.u - from.u) * s) / n, cv = from.v + ((p.v - from.v) * s) / n;
      for (let v = Math.max(0, Math.floor(cv - rv)); v <= Math.min(d.nv - 1, Math.ceil(cv + rv)); v++) {
        for (let u = Math.max(0, Math.floor(cu - ru)); u <= Math.min(d.nu - 1, Math.ceil(cu + ru)); u++) {
          const x = (u + 0.5 - cu) / ru, y = (v + 0.5 - cv) / rv;
          if (x * x + y * y <= 1) d.bits[v * d.nu + u] = 1;
        }
      }
    }
    d.last = p;
  }

  finishStroke(d) {
    const img = this.image();
    const cut = cutLayout(img, d.plane);
    const bits = new Uint8Array(cut.rows * cut.cols);
    let any = false;
    for (let v = 0; v < d.nv; v++) for (let u = 0; u < d.nu; u++) {
      if (d.bits[v * d.nu + u]) { bits[cut.at(u, v)] = 1; any = true; }
    }
    if (!any) return;
    const f = this.selected();
    const idx = this.s.view && Number.isInteger(this.s.view.phrase) ? this.s.view.phrase
      : f.phrases.findIndex((ph) => ph.mask);
    this.strokes.push({ ...d, color: f.color, at: performance.now() });
    this.bridge.send({ type: "edit_mask", case: this.s.case, finding: f.id, phrase: idx >= 0 ? idx : null,
      plane: img.ndim === 3 ? d.plane : "image", index: img.ndim === 3 ? d.slice : 0,
      mode: d.erase ? "erase" : "paint", shape: [cut.rows, cut.cols], rle: encodeRle(bits) });
  }

  // ---------------------------------------------------------------------------------------- drawing

  invalidate() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  windowLut(img) {
    const lut = windowTable(img, this.wl[this.imageIndex], this.lut);
    if (lut !== this.lut) {
      // a new window: windowed slices of any other window leave the cache (nothing stale can be shown)
      const prefix = `b#${lut.key}#`;
      this.cache.retain((key) => !key.startsWith("b#") || key.startsWith(prefix));
    }
    this.lut = lut;
    return lut;
  }

  /** The cache key of slice `index` of `plane` windowed with `lut`, composited with the overlays of the
   * current overlay state (`over`) or bare. */
  cacheKey(lut, plane, index, over) {
    return `b#${lut.key}#${this.imageIndex}|${plane}|${index}#${over ? this.overlayState() : "-"}`;
  }

  /** Window slice `index` onto the base canvas now, into the one reused buffer (the synchronous path). */
  fillBase(img, P, index) {
    const l = this.loader();
    const b = this.base;
    if (!b.data || b.data.width !== P.nu || b.data.height !== P.nv) {
      b.canvas.width = P.nu; b.canvas.height = P.nv;
      b.data = new ImageData(P.nu, P.nv);
      b.pix = new Uint32Array(b.data.data.buffer);
      b.ctx = b.canvas.getContext("2d");
    }
    const lut = this.windowLut(img);
    const t0 = performance.now();
    windowSlice(b.pix, l.data, l.loaded, img.shape, P.plane, index, lut);
    if (sliceLoaded(l.loaded, l.nLoaded, P.plane, index)) {
      this.stats.windowMs.push(performance.now() - t0); // the miss path's windowing loop alone
      if (this.stats.windowMs.length > 1000) this.stats.windowMs.shift();
    }
    b.ctx.putImageData(b.data, 0, 0);
  }

  /** What the overlay pixels depend on besides plane and slice (the label map, selection, toggles). */
  overlayState() {
    const f = this.selected();
    return [this.imageIndex, this.labels && this.show.masks ? this.labels.key : "", this.opacity,
      f ? f.region : "", this.show.all, this.heatOn() ? this.heat.url : ""].join("|");
  }

  overlayKey(index) { return `o#${this.overlayState()}#${this.plane}|${index}`; }

  heatOn() { return !!(this.show.heat && this.heat && this.heat.url === this.heatUrl()); }

  /** Whether anything is composited over the image (masks or a heat map, overlays on, first image). */
  overlaysDrawn() {
    return this.show.overlays && this.imageIndex === 0 && !!((this.show.masks && this.labels) || this.heatOn());
  }

  /** The label colours and heat colours of the current overlay state (built once per state). */
  overlayPalette(state) {
    const pal = this.palette;
    if (pal.key === state) return pal;
    // the overlay state changed: drop the cached slices composited with the old one
    this.cache.retain((key) => key.endsWith("#-") || key.endsWith(`#${state}`));
    pal.key = state;
    pal.colors.fill(0);
    const labels = this.show.masks && this.labels ? this.labels : null;
    const f = this.selected();
    if (labels) labels.names.forEach((name, n) => {
      if (!this.showsFinding(f, name)) return;
      const [r, g, b] = labels.colors[n];
      const a = Math.round(255 * Math.min(1, f && f.region === name ? this.opacity + 0.25 : this.opacity));
      pal.colors[n + 1] = ((a << 24) >>> 0) | (b << 16) | (g << 8) | r;
    });
    if (!pal.heat[255]) for (let n = 1; n < 256; n++) {
      const [r, g, b] = jet(n / 255);
      pal.heat[n] = ((Math.round(200 * n / 255) << 24) >>> 0) | (b << 16) | (g << 8) | r;
    }
    return pal;
  }

  /** Put the overlay of slice `index` on the overlay canvas; `this.over.any` says whether there is one. */
  fillOverlay(img, P, index) {
    const o = this.over;
    const labels = this.show.masks && this.labels ? this.labels : null;
    const heat = this.heatOn() ? this.heat : null;
    o.any = !!(labels || heat);
    if (!o.any) return;
    if (!o.data || o.data.width !== P.nu || o.data.height !== P.nv) {
      o.canvas.width = P.nu; o.canvas.height = P.nv;
      o.data = new ImageData(P.nu, P.nv);
      o.pix = new Uint32Array(o.data.data.buffer);
      o.ctx = o.canvas.getContext("2d");
    }
    const pal = this.overlayPalette(this.overlayState());
    overlaySlice(o.pix, labels && labels.data, pal.colors, heat && heat.data, pal.heat, img.shape, P.plane, index);
    o.ctx.putImageData(o.data, 0, 0);
  }

  // ------------------------------------------------------------------------------------ render-ahead

  /** Ask for idle time to paint the slices around the current one (ahead of the scroll direction). */
  scheduleAhead() {
    if (this.ahead || !this.cacheOn) return;
    const run = (deadline) => { this.ahead = 0; this.renderAhead(deadline); };
    this.ahead = window.requestIdleCallback ? requestIdleCallback(run, { timeout: 250 })
      : setTimeout(() => run({ didTimeout: true, timeRemaining: () => 8 }), 30);
  }

  /** Scratch canvases of the render-ahead (reused: nothing is allocated per slice but its bitmap). */
  scratch(nu, nv) {
    let r = this.rendering;
    if (!r || r.nu !== nu || r.nv !== nv) {
      const base = new OffscreenCanvas(nu, nv), over = new OffscreenCanvas(nu, nv);
      const bd = new ImageData(nu, nv), od = new ImageData(nu, nv);
      r = this.rendering = { nu, nv, base, over, bctx: base.getContext("2d", { alpha: false }),
        octx: over.getContext("2d"), bd, od, bpix: new Uint32Array(bd.data.buffer), opix: new Uint32Array(od.data.buffer) };
    }
    return r;
  }

  /** Fill the cache with the slices around the current one — windowed, overlays composited, as one
   * ImageBitmap each — while the idle period lasts; never a slice that has not fully arrived, never
   * while the window is being dragged. */
  renderAhead(deadline) {
    const img = this.image(), l = this.loader();
    if (!img || !l || !this.cacheOn) return;
    if (performance.now() - this.wlAt < 200 || (this.drag && this.drag.kind === "wl")) {
      this.ahead = setTimeout(() => { this.ahead = 0; this.scheduleAhead(); }, 100);
      return;
    }
    const P = this.info();
    const lut = this.windowLut(img);
    const over = this.overlaysDrawn();
    const pal = over ? this.overlayPalette(this.overlayState()) : null;
    const heat = this.heatOn() ? this.heat.data : null;
    const labels = this.show.masks && this.labels ? this.labels.data : null;
    let did = 0;
    for (const k of aheadOrder(this.slice(), P.n, this.dir)) {
      if (did && (deadline.didTimeout ? did >= 2 : deadline.timeRemaining() < 4)) { this.scheduleAhead(); return; }
      const key = this.cacheKey(lut, P.plane, k, over);
      if (this.cache.has(key) || !sliceLoaded(l.loaded, l.nLoaded, P.plane, k)) continue;
      const r = this.scratch(P.nu, P.nv);
      windowSlice(r.bpix, l.data, l.loaded, img.shape, P.plane, k, lut);
      r.bctx.putImageData(r.bd, 0, 0);
      if (over) {
        overlaySlice(r.opix, labels, pal.colors, heat, pal.heat, img.shape, P.plane, k);
        r.octx.putImageData(r.od, 0, 0);
        r.bctx.drawImage(r.over, 0, 0);
      }
      this.cache.put(key, { bitmap: r.base.transferToImageBitmap(), bytes: 4 * P.nu * P.nv });
      did++; this.stats.ahead++;
    }
  }

  draw() {
    const t0 = performance.now();
    const stage = { width: this.stageSize.w, height: this.stageSize.h };
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(stage.width * dpr)), h = Math.max(1, Math.round(stage.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    const img = this.image(), l = this.loader();
    if (!img || !l) { this.infoEl.textContent = ""; return; }
    const P = this.info();
    const index = this.slice();
    const k = P.plane === "axial" ? index : 0;
    const wl = this.wl[this.imageIndex];
    const baseKey = [this.imageIndex, P.plane, index, img.dtype, wl.c, wl.w, img.invert,
      P.plane === "axial" || P.plane === "image" ? l.loaded[k] : l.nLoaded].join("|");
    const newSlice = baseKey !== this.shownKey;
    this.shownKey = baseKey;
    const T = this.transform(P);
    const W = P.nu * T.pu, H = P.nv * T.pv;
    ctx.imageSmoothingEnabled = false;
    const overlays = this.show.overlays && this.imageIndex === 0;
    const cached = this.cacheOn && sliceLoaded(l.loaded, l.nLoaded, P.plane, index)
      ? this.cache.get(this.cacheKey(this.windowLut(img), P.plane, index, this.overlaysDrawn())) : undefined;
    const hit = !!cached;
    if (cached) ctx.drawImage(cached.bitmap, T.ox, T.oy, W, H); // windowed, overlays composited: one draw
    else {
      if (baseKey !== this.base.key) { this.fillBase(img, P, index); this.base.key = baseKey; }
      ctx.drawImage(this.base.canvas, T.ox, T.oy, W, H);
      if (overlays) {
        const key = this.overlayKey(index);
        if (key !== this.over.key) { this.fillOverlay(img, P, index); this.over.key = key; }
        if (this.over.any) ctx.drawImage(this.over.canvas, T.ox, T.oy, W, H);
      }
    }
    if (overlays) {
      this.drawStrokes(ctx, T, P, index);
      if (this.show.boxes) this.drawBoxes(ctx, T, img, index);
    }
    if (this.show.lines && img.ndim === 3) this.drawLines(ctx, T, img, P);
    this.drawMeasure(ctx, T);
    this.drawLetters(ctx, w, h);
    this.drawInfo(img, P, index);
    const shown = P.plane === "axial" || P.plane === "image" ? l.loaded[k] : l.nLoaded > 0;
    if (shown && this.stats.firstPaint === null && this.stats.caseSetAt !== null) {
      this.stats.firstPaintAt = performance.now();
      this.stats.firstPaint = this.stats.firstPaintAt - this.stats.caseSetAt;
    }
    const input = this.stats.input;
    if (input && (input.kind !== "slice" || newSlice)) {
      const list = this.stats.latency[input.kind];
      list.push(performance.now() - input.at);
      if (list.length > 2000) list.shift();
      this.stats.input = null;
    }
    if (newSlice && shown) {
      this.stats.paints.push(performance.now() - t0);
      this.stats.paintHit.push(hit);
      if (this.stats.paints.length > 1000) { this.stats.paints.shift(); this.stats.paintHit.shift(); }
      this.stats.painted.push(index);
      if (this.stats.painted.length > 1000) this.stats.painted.shift();
    }
    this.stats.lastDraw = { plane: P.plane, slice: index, at: performance.now(), ms: performance.now() - t0, hit };
    this.scheduleAhead();
  }

  drawStrokes(ctx, T, P, index) {
    const strokes = [...this.strokes];
    if (this.drag && this.drag.kind === "stroke") strokes.push({ ...this.drag, color: this.selected()?.color || [255, 255, 0] });
    for (const s of strokes) {
      if (s.plane !== this.plane || s.slice !== index || s.nu !== P.nu) continue;
      const c = document.createElement("canvas");
      c.width = s.nu; c.height = s.nv;
      const id = new ImageData(s.nu, s.nv);
      const px = new Uint32Array(id.data.buffer);
      const [r, g, b] = s.erase ? [0, 0, 0] : s.color;
      const val = ((160 << 24) >>> 0) | (b << 16) | (g << 8) | r;
      for (let p = 0; p < s.bits.length; p++) if (s.bits[p]) px[p] = val;
      c.getContext("2d").putImageData(id, 0, 0);
      ctx.drawImage(c, T.ox, T.oy, s.nu * T.pu, s.nv * T.pv);
    }
  }

  /** Whether the overlays of region ``region`` (or of finding ``f``) are drawn: all of them with "all" on or
   * nothing selected, else only the selected finding's (its region's mask, its own boxes). */
  showsFinding(sel, region, f = null) {
    if (this.show.all || !sel) return true;
    return f ? f.id === sel.id : region === sel.region;
  }

  drawBoxes(ctx, T, img, index) {
    if (this.imageIndex !== 0) return;
    const drag = this.drag && this.drag.kind === "box" ? this.drag : null;
    const sel = this.selected();
    for (const f of this.s.findings) {
      if (f.status === "rejected" || !this.showsFinding(sel, f.region, f)) continue;
      f.phrases.forEach((ph, n) => ph.boxes.forEach((box) => {
        let r = boxToDisplay(img, this.plane, index, box);
        if (f.selected && drag && drag.mode !== "new" && drag.phrase === n && drag.base === box) r = drag.rect;
        if (!r) return;
        this.strokeRect(ctx, T, r, f.color, f.selected, f.selected ? ph.text : "");
      }));
    }
    if (drag && drag.mode === "new" && drag.changed) this.strokeRect(ctx, T, drag.rect, this.selected().color, true, "");
    const pend = this.pendingBox;
    if (pend && pend.plane === this.plane && pend.slice === index && !drag) {
      this.strokeRect(ctx, T, pend.rect, [255, 255, 255], false, "saving…");
    }
  }

  strokeRect(ctx, T, r, color, selected, text) {
    const x0 = T.ox + Math.min(r.u0, r.u1) * T.pu, y0 = T.oy + Math.min(r.v0, r.v1) * T.pv;
    const x1 = T.ox + Math.max(r.u0, r.u1) * T.pu, y1 = T.oy + Math.max(r.v0, r.v1) * T.pv;
    ctx.save();
    ctx.strokeStyle = `rgb(${color.join(",")})`;
    ctx.lineWidth = selected ? 2.5 : 1;
    ctx.setLineDash(selected ? [] : [5, 4]);
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    if (selected && this.tool === "box") {
      ctx.fillStyle = ctx.strokeStyle;
      for (const [x, y] of [[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) ctx.fillRect(x - 3, y - 3, 6, 6);
    }
    if (text) {
      ctx.font = "13px sans-serif";
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(text.slice(0, 40), x0, Math.max(12, y0 - 4));
    }
    ctx.restore();
  }

  drawLines(ctx, T, img, P) {
    // reference lines of the two other planes through the cursor
    const [u, v] = displayOf(img, this.plane, this.cursor);
    const x = T.ox + (u + 0.5) * T.pu, y = T.oy + (v + 0.5) * T.pv;
    const colors = { axial: "#56B4E9", coronal: "#009E73", sagittal: "#E69F00" };
    const vertical = { axial: "sagittal", coronal: "sagittal", sagittal: "coronal" }[this.plane];
    const horizontal = { axial: "coronal", coronal: "axial", sagittal: "axial" }[this.plane];
    ctx.save();
    ctx.globalAlpha = 0.7;
    ctx.lineWidth = 1;
    ctx.strokeStyle = colors[vertical];
    ctx.beginPath(); ctx.moveTo(x, T.oy); ctx.lineTo(x, T.oy + P.nv * T.pv); ctx.stroke();
    ctx.strokeStyle = colors[horizontal];
    ctx.beginPath(); ctx.moveTo(T.ox, y); ctx.lineTo(T.ox + P.nu * T.pu, y); ctx.stroke();
    ctx.restore();
  }

  drawMeasure(ctx, T) {
    const m = this.measure;
    if (!m) return;
    const a = [T.ox + m.a[0] * T.pu, T.oy + m.a[1] * T.pv], b = [T.ox + m.b[0] * T.pu, T.oy + m.b[1] * T.pv];
    ctx.save();
    ctx.strokeStyle = "#F0E442"; ctx.fillStyle = "#F0E442"; ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...b); ctx.stroke();
    ctx.font = "14px sans-serif";
    ctx.fillText(`${m.mm.toFixed(1)} mm`, b[0] + 6, b[1] - 6);
    ctx.restore();
  }

  drawLetters(ctx, w, h) {
    const letters = LETTERS[this.plane];
    if (!letters) return;
    ctx.save();
    ctx.fillStyle = "#ddd"; ctx.font = "bold 15px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText(letters.top, w / 2, 12); ctx.fillText(letters.bottom, w / 2, h - 12);
    ctx.fillText(letters.left, 12, h / 2); ctx.fillText(letters.right, w - 12, h / 2);
    ctx.restore();
  }

  drawInfo(img, P, index) {
    const wl = this.wl[this.imageIndex];
    const l = this.loader();
    const parts = [];
    if (img.ndim === 3) parts.push(`${this.plane} ${index + 1}/${P.n}`);
    parts.push(`C ${fmt(wl.c)} W ${fmt(wl.w)}`);
    if (l && !l.complete) parts.push(`loading ${Math.round((100 * l.nLoaded) / l.loaded.length)}%`);
    if (this.tool === "brush") parts.push(`brush ${this.brushMm.toFixed(1)} mm${this.erase ? " erase" : ""}`);
    const text = parts.join(" · ");
    if (this.infoEl.textContent !== text) this.infoEl.textContent = text;
    this.infoEl.dataset.slice = String(index);
    this.infoEl.dataset.plane = P.plane;
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
