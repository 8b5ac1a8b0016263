// Grounding edits of the selected finding: boxes (grab an edge or corner to resize, the inside to move,
// elsewhere to draw a new one) and brush strokes (paint, or erase with shift / x), each sent to the Gradio
// side as one event (`move_box`, `edit_mask`; app/viewer_events.py). Methods of `Viewer` (mixed in by
// viewer.js; `this` is the viewer) and the pure brush raster.

import { boxToDisplay, cutLayout, displayToBox, encodeRle } from "./geometry.js";

const HANDLE = 7; // px: box corner/edge grab distance

/** Stamp a brush of radii `ru` × `rv` display pixels along the segment `from` → `to` (`{u, v}`) into `bits`
 * (`nu` × `nv`, row-major): a disc every half radius (at least every half pixel), a pixel set when its
 * centre lies inside a disc. */
export function stampStroke(bits, nu, nv, from, to, ru, rv) {
  const dist = Math.hypot(to.u - from.u, to.v - from.v);
  const n = Math.max(1, Math.ceil(dist / Math.max(0.5, Math.min(ru, rv) / 2)));
  for (let s = 0; s <= n; s++) {
    const cu = from.u + ((to.u - from.u) * s) / n, cv = from.v + ((to.v - from.v) * s) / n;
    for (let v = Math.max(0, Math.floor(cv - rv)); v <= Math.min(nv - 1, Math.ceil(cv + rv)); v++) {
      for (let u = Math.max(0, Math.floor(cu - ru)); u <= Math.min(nu - 1, Math.ceil(cu + ru)); u++) {
        const x = (u + 0.5 - cu) / ru, y = (v + 0.5 - cv) / rv;
        if (x * x + y * y <= 1) bits[v * nu + u] = 1;
      }
    }
  }
}

export const edits = {
  /** Why the selected finding's groundings cannot be edited now ("" when they can). */
  editable() {
    if (!this.s) return "no case is open";
    if (this.s.signed) return "the report is signed: groundings are read-only";
    if (!this.selected()) return "select a finding first (j/k or click it in the report)";
    if (this.imageIndex !== 0) return "boxes and masks are edited on the first image";
    return "";
  },

  /** The phrase an edit of finding `f` goes to: the one the workspace named, else the first that `has`. */
  targetPhrase(f, has) {
    const idx = this.s.view && Number.isInteger(this.s.view.phrase) ? this.s.view.phrase : f.phrases.findIndex(has);
    return idx >= 0 ? idx : null;
  },

  /** [{phrase, box, rect}] of the selected finding in this plane/slice. */
  selectedBoxes() {
    const f = this.selected();
    const img = this.image();
    if (!f || !img || this.imageIndex !== 0) return [];
    const out = [];
    f.phrases.forEach((ph, n) => ph.boxes.forEach((box) => {
      const rect = boxToDisplay(img, this.plane, this.slice(), box);
      if (rect) out.push({ phrase: n, box, rect });
    }));
    return out;
  },

  /** The box drag that a press at display point `p` starts: resize, move, or a new box. */
  boxGrab(p) {
    const T = this.transform(this.info());
    for (const h of this.selectedBoxes()) {
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
    return { kind: "box", mode: "new", start: p, rect: { u0: p.u, v0: p.v, u1: p.u, v1: p.v },
      phrase: this.targetPhrase(this.selected(), (ph) => ph.boxes.length), base: null };
  },

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
  },

  finishBox(d) {
    if (!d.changed) return;
    const r = d.rect;
    if (Math.abs(r.u1 - r.u0) < 2 || Math.abs(r.v1 - r.v0) < 2) { this.setNote("box too small: drag a rectangle"); return; }
    const box = displayToBox(this.image(), this.plane, this.slice(), r, d.base);
    const f = this.selected();
    this.pendingBox = { finding: f.id, phrase: d.phrase, box, rect: { ...r }, plane: this.plane, slice: this.slice() };
    this.bridge.send({ type: "move_box", case: this.s.case, finding: f.id, phrase: d.phrase, box });
  },

  startStroke(p, erase) {
    const P = this.info();
    const d = { kind: "stroke", erase, bits: new Uint8Array(P.nu * P.nv), nu: P.nu, nv: P.nv,
      plane: this.plane, slice: this.slice(), last: null };
    this.continueStroke(d, p);
    this.drag = d;
  },

  continueStroke(d, p) {
    const P = this.info();
    const ru = P.known ? this.brushMm / P.su : this.brushMm, rv = P.known ? this.brushMm / P.sv : this.brushMm;
    stampStroke(d.bits, d.nu, d.nv, d.last || p, p, ru, rv);
    d.last = p;
  },

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
    this.strokes.push({ ...d, color: f.color, at: performance.now() });
    this.bridge.send({ type: "edit_mask", case: this.s.case, finding: f.id, phrase: this.targetPhrase(f, (ph) => ph.mask),
      plane: img.ndim === 3 ? d.plane : "image", index: img.ndim === 3 ? d.slice : 0,
      mode: d.erase ? "erase" : "paint", shape: [cut.rows, cut.cols], rle: encodeRle(bits) });
  },
};
