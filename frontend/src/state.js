// The case state the Gradio page hands the viewer (app/viewer_bridge.py writes it as JSON into a textbox
// main.js watches): open a case, start loading its pixels, fetch the label and heat maps, follow the
// workspace's view requests, keep the page URL on the case/plane/slice, send undo. Methods of `Viewer`
// (mixed in by viewer.js; `this` is the viewer).

import { VolumeLoader, fetchBytes } from "./loader.js";

export const state = {
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
  },

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
    this.forget();
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
  },

  startLoading(index) {
    if (this.loaders.has(index)) return;
    const img = this.s.images[index];
    const loader = new VolumeLoader(img, (k0, k1, err) => {
      if (err) this.setNote(`pixels: ${err}`);
      if (this.imageIndex === index) this.invalidate();
    });
    this.loaders.set(index, loader);
    loader.want(img.ndim === 3 ? this.cursor[0] : 0);
  },

  applyView(view) {
    const img = this.image();
    if (!img) return;
    // the workspace arms an editing tool only on an explicit request (an edit saved with "re-ground")
    if (["box", "brush"].includes(view.tool)) this.setTool(view.tool);
    if (img.ndim === 3 && ["axial", "coronal", "sagittal"].includes(view.plane)) this.plane = view.plane;
    if (Number.isInteger(view.slice) || /^\d+$/.test(String(view.slice ?? ""))) {
      this.setSlice(Number(view.slice), false);
    } else if (this.s.focus) this.jumpTo(this.s.focus);
  },

  /** Put the cursor on `focus` (normalised x, y[, z] of the first image) and load around it. */
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
  },

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
  },

  heatUrl() {
    const f = this.selected();
    if (!f) return null;
    const p = f.phrases.find((ph) => ph.heat);
    return p ? p.heat : null;
  },

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
  },

  undo() {
    if (!this.s) return;
    this.bridge.send({ type: "undo", case: this.s.case });
  },

  /** Keep the page URL on the case, finding, plane and slice (at most one history write per 150 ms). */
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
  },
};
