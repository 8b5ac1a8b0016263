// Painting a frame: the windowed slice (the window lookup table, one reused ImageData), the mask/heat
// overlay raster (its palette built once per overlay state), the render-ahead cache of windowed,
// overlay-composited slices filled in idle time, and `draw`, which puts them on the canvas and hands
// boxes, strokes, lines, ruler and letters to annotations.js. The loops themselves live in paint.js.
// Methods of `Viewer` (mixed in by viewer.js; `this` is the viewer).

import {
  aheadOrder, heatColors, labelColors, overlaySlice, sliceLoaded, windowSlice, windowTable,
} from "./paint.js";
import { keep, recordDraw } from "./stats.js";

/** Make `b` ({canvas, data, pix, ctx}) hold an `nu` × `nv` ImageData, reusing it when the size matches. */
function sized(b, nu, nv) {
  if (b.data && b.data.width === nu && b.data.height === nv) return;
  b.canvas.width = nu; b.canvas.height = nv;
  b.data = new ImageData(nu, nv);
  b.pix = new Uint32Array(b.data.data.buffer);
  b.ctx = b.canvas.getContext("2d");
}

export const render = {
  invalidate() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  },

  /** Drop every painted slice (a new case or image): nothing painted before can be shown again. */
  forget() {
    this.base.key = this.over.key = this.shownKey = "";
    this.cache.clear();
    this.dir = 0;
  },

  windowLut(img) {
    const lut = windowTable(img, this.wl[this.imageIndex], this.lut);
    if (lut !== this.lut) {
      // a new window: windowed slices of any other window leave the cache (nothing stale can be shown)
      const prefix = `b#${lut.key}#`;
      this.cache.retain((key) => !key.startsWith("b#") || key.startsWith(prefix));
    }
    this.lut = lut;
    return lut;
  },

  /** The cache key of slice `index` of `plane` windowed with `lut`, composited with the overlays of the
   * current overlay state (`over`) or bare. */
  cacheKey(lut, plane, index, over) {
    return `b#${lut.key}#${this.imageIndex}|${plane}|${index}#${over ? this.overlayState() : "-"}`;
  },

  /** Window slice `index` onto the base canvas now, into the one reused buffer (the synchronous path). */
  fillBase(img, P, index) {
    const l = this.loader();
    const b = this.base;
    sized(b, P.nu, P.nv);
    const lut = this.windowLut(img);
    const t0 = performance.now();
    windowSlice(b.pix, l.data, l.loaded, img.shape, P.plane, index, lut);
    if (sliceLoaded(l.loaded, l.nLoaded, P.plane, index)) {
      keep(this.stats.windowMs, performance.now() - t0, 1000); // the miss path's windowing loop alone
    }
    b.ctx.putImageData(b.data, 0, 0);
  },

  /** What the overlay pixels depend on besides plane and slice (the label map, selection, toggles). */
  overlayState() {
    const f = this.selected();
    return [this.imageIndex, this.labels && this.show.masks ? this.labels.key : "", this.opacity,
      f ? f.region : "", this.show.all, this.heatOn() ? this.heat.url : ""].join("|");
  },

  overlayKey(index) { return `o#${this.overlayState()}#${this.plane}|${index}`; },

  heatOn() { return !!(this.show.heat && this.heat && this.heat.url === this.heatUrl()); },

  /** The overlay rasters composited now: the label map (masks shown) and the heat map (its finding's). */
  overlayMaps() {
    return { labels: this.show.masks && this.labels ? this.labels.data : null, heat: this.heatOn() ? this.heat.data : null };
  },

  /** Whether anything is composited over the image (masks or a heat map, overlays on, first image). */
  overlaysDrawn() {
    return this.show.overlays && this.imageIndex === 0 && !!((this.show.masks && this.labels) || this.heatOn());
  },

  /** The label colours and heat colours of the current overlay state (built once per state). */
  overlayPalette(state) {
    const pal = this.palette;
    if (pal.key === state) return pal;
    // the overlay state changed: drop the cached slices composited with the old one
    this.cache.retain((key) => key.endsWith("#-") || key.endsWith(`#${state}`));
    pal.key = state;
    const f = this.selected();
    labelColors(pal.colors, this.show.masks ? this.labels : null, this.opacity,
      (name) => this.showsFinding(f, name), f ? f.region : null);
    if (!pal.heat[255]) heatColors(pal.heat);
    return pal;
  },

  /** Put the overlay of slice `index` on the overlay canvas; `this.over.any` says whether there is one. */
  fillOverlay(img, P, index) {
    const o = this.over;
    const { labels, heat } = this.overlayMaps();
    o.any = !!(labels || heat);
    if (!o.any) return;
    sized(o, P.nu, P.nv);
    const pal = this.overlayPalette(this.overlayState());
    overlaySlice(o.pix, labels, pal.colors, heat, pal.heat, img.shape, P.plane, index);
    o.ctx.putImageData(o.data, 0, 0);
  },

  /** Ask for idle time to paint the slices around the current one (ahead of the scroll direction). */
  scheduleAhead() {
    if (this.ahead || !this.cacheOn) return;
    const run = (deadline) => { this.ahead = 0; this.renderAhead(deadline); };
    this.ahead = window.requestIdleCallback ? requestIdleCallback(run, { timeout: 250 })
      : setTimeout(() => run({ didTimeout: true, timeRemaining: () => 8 }), 30);
  },

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
  },

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
    const { labels, heat } = this.overlayMaps();
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
  },

  /** Paint the current view: the slice from the cache (one draw) or windowed now, its overlay, then the
   * annotations and the info line; record the paint and schedule the render-ahead. */
  draw() {
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.stageSize.w * dpr)), h = Math.max(1, Math.round(this.stageSize.h * dpr));
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
    this.annotate(ctx, T, img, P, index, overlays);
    this.drawInfo(img, P, index);
    const shown = P.plane === "axial" || P.plane === "image" ? l.loaded[k] : l.nLoaded > 0;
    recordDraw(this.stats, t0, P.plane, index, newSlice, shown, hit);
    this.scheduleAhead();
  },
};
