// The viewer's DOM: the toolbar (tools, planes, images, window preset and C/W fields, overlay toggles,
// cine, reset), the canvas stage, the note, and the two text lines (info in the bar, readout in the
// foot). Methods of `Viewer` (mixed in by viewer.js; `this` is the viewer).

import { planeInfo, voxelAt } from "./geometry.js";

export const NO_SPACING = "this image has no pixel spacing: the ruler cannot measure mm";

/** A DOM element: `on…` attributes become listeners, `true` an empty attribute, false/null/undefined none. */
export function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) node.append(kid);
  return node;
}

/** A number as the toolbar shows it: whole from 100 up and for integers, else 4 significant digits. */
export const fmt = (x) => (Math.abs(x) >= 100 || Number.isInteger(x) ? String(Math.round(x)) : x.toPrecision(4));

/** A stored value with its unit ("…" while its slice has not arrived). */
export const valueText = (val, unit) => `${val === null ? "…" : fmt(val)}${unit ? " " + unit : ""}`;

export const toolbar = {
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
    this.listen();
    this.stageSize = { w: 1, h: 1 };
    // the stage size comes from the observer, so a paint never forces a layout of the page
    new ResizeObserver((entries) => {
      const r = entries[entries.length - 1].contentRect;
      this.stageSize = { w: r.width, h: r.height };
      this.invalidate();
    }).observe(this.stage);
    this.setTool("probe");
  },

  attach(root) {
    // Gradio re-rendered the host: move the built DOM into the new one (data stays).
    this.root = root;
    root.replaceChildren(this.canvas.closest(".rr-vw"));
    const r = this.stage.getBoundingClientRect();
    this.stageSize = { w: r.width, h: r.height };
    this.invalidate();
  },

  /** The controls of the current image: presets, C/W ranges, planes, the image buttons. */
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
  },

  showWindow() {
    const wl = this.wl[this.imageIndex];
    if (!wl) return;
    if (document.activeElement !== this.cInput) this.cInput.value = fmt(wl.c);
    if (document.activeElement !== this.wInput) this.wInput.value = fmt(wl.w);
    const img = this.image();
    const n = img ? img.presets.findIndex((p) => p.name === wl.name && p.center === wl.c && p.width === wl.w) : -1;
    this.presetSel.value = String(n);
  },

  applyPreset(n) {
    const img = this.image();
    const p = img && img.presets[n];
    if (!p) return;
    this.wl[this.imageIndex] = { c: p.center, w: p.width, name: p.name };
    this.wlAt = performance.now();
    this.showWindow();
    this.invalidate();
  },

  nextPreset() {
    const img = this.image();
    if (!img || !img.presets.length) return;
    const cur = img.presets.findIndex((p) => p.name === this.wl[this.imageIndex].name);
    this.applyPreset((cur + 1) % img.presets.length);
  },

  applyTyped() {
    const c = Number(this.cInput.value), w = Number(this.wInput.value);
    if (!Number.isFinite(c) || !Number.isFinite(w) || w < 1) {
      this.setNote("window: type a center and a width ≥ 1"); return;
    }
    this.setWindow(c, w, "typed");
  },

  setWindow(c, w, name = "manual") {
    this.wl[this.imageIndex] = { c, w: Math.max(1, w), name };
    this.wlAt = performance.now();
    this.showWindow();
    this.invalidate();
  },

  setTool(name) {
    this.tool = name;
    this.drag = null;
    for (const b of this.bar.querySelectorAll("[data-tool]")) b.classList.toggle("rr-on", b.dataset.tool === name);
    this.canvas.dataset.tool = name;
    if (name === "ruler" && this.image() && !planeInfo(this.image(), this.plane).known) this.setNote(NO_SPACING);
    this.invalidate();
  },

  setNote(text) {
    this.note = text;
    this.noteEl.textContent = text;
    this.noteEl.hidden = !text;
  },

  /** The foot line: the value under the pointer, the last probe, the ruler's length. */
  updateReadout() {
    const img = this.image();
    if (!img) { this.readout.textContent = ""; return; }
    const parts = [];
    const P = this.info();
    const h = this.hover;
    if (h && h.u >= 0 && h.v >= 0 && h.u < P.nu && h.v < P.nv) {
      const voxel = voxelAt(img, this.plane, this.cursor, Math.floor(h.u), Math.floor(h.v));
      const at = img.ndim === 3 ? `[k ${voxel[0]}, i ${voxel[1]}, j ${voxel[2]}]` : `[row ${voxel[1]}, col ${voxel[2]}]`;
      parts.push(`${valueText(this.valueAt(voxel), img.unit)} at ${at}`);
    }
    if (this.probed) {
      const [k, i, j] = this.probed.voxel;
      parts.push(`probe ${valueText(this.probed.value, img.unit)} at ${img.ndim === 3 ? `[${k}, ${i}, ${j}]` : `[${i}, ${j}]`}`);
    }
    if (this.measure) parts.push(`ruler ${this.measure.mm.toFixed(1)} mm`);
    this.readout.textContent = parts.join(" · ");
  },

  /** The bar's info line: plane and slice, window, loading progress, brush size. */
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
  },
};
