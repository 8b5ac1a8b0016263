// What is drawn over the image in screen space after the slice and its overlay raster: pending brush
// strokes, the findings' boxes (the one being dragged, the one being saved), the reference lines of the
// other planes, the ruler and the orientation letters. Methods of `Viewer` (mixed in by viewer.js; `this`
// is the viewer); `T` is the view transform (`Viewer.transform`).

import { LETTERS, boxToDisplay, displayOf } from "./geometry.js";

const LINE_COLORS = { axial: "#56B4E9", coronal: "#009E73", sagittal: "#E69F00" };
const VERTICAL = { axial: "sagittal", coronal: "sagittal", sagittal: "coronal" };
const HORIZONTAL = { axial: "coronal", coronal: "axial", sagittal: "axial" };

export const annotations = {
  /** Everything over slice `index`: strokes and boxes when `overlays` are on, lines, ruler, letters. */
  annotate(ctx, T, img, P, index, overlays) {
    if (overlays) {
      this.drawStrokes(ctx, T, P, index);
      if (this.show.boxes) this.drawBoxes(ctx, T, img, index);
    }
    if (this.show.lines && img.ndim === 3) this.drawLines(ctx, T, img, P);
    this.drawMeasure(ctx, T);
    this.drawLetters(ctx, this.canvas.width, this.canvas.height);
  },

  /** Whether the overlays of region ``region`` (or of finding ``f``) are drawn: all of them with "all" on or
   * nothing selected, else only the selected finding's (its region's mask, its own boxes). */
  showsFinding(sel, region, f = null) {
    if (this.show.all || !sel) return true;
    return f ? f.id === sel.id : region === sel.region;
  },

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
  },

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
    if (drag && drag.mode === "new" && drag.changed) this.strokeRect(ctx, T, drag.rect, sel.color, true, "");
    const pend = this.pendingBox;
    if (pend && pend.plane === this.plane && pend.slice === index && !drag) {
      this.strokeRect(ctx, T, pend.rect, [255, 255, 255], false, "saving…");
    }
  },

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
  },

  /** The reference lines of the two other planes through the cursor. */
  drawLines(ctx, T, img, P) {
    const [u, v] = displayOf(img, this.plane, this.cursor);
    const x = T.ox + (u + 0.5) * T.pu, y = T.oy + (v + 0.5) * T.pv;
    ctx.save();
    ctx.globalAlpha = 0.7;
    ctx.lineWidth = 1;
    ctx.strokeStyle = LINE_COLORS[VERTICAL[this.plane]];
    ctx.beginPath(); ctx.moveTo(x, T.oy); ctx.lineTo(x, T.oy + P.nv * T.pv); ctx.stroke();
    ctx.strokeStyle = LINE_COLORS[HORIZONTAL[this.plane]];
    ctx.beginPath(); ctx.moveTo(T.ox, y); ctx.lineTo(T.ox + P.nu * T.pu, y); ctx.stroke();
    ctx.restore();
  },

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
  },

  /** The orientation letters at the middle of each canvas edge (`w` × `h` canvas pixels). */
  drawLetters(ctx, w, h) {
    const letters = LETTERS[this.plane];
    if (!letters) return;
    ctx.save();
    ctx.fillStyle = "#ddd"; ctx.font = "bold 15px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText(letters.top, w / 2, 12); ctx.fillText(letters.bottom, w / 2, h - 12);
    ctx.fillText(letters.left, 12, h / 2); ctx.fillText(letters.right, w - 12, h / 2);
    ctx.restore();
  },
};
