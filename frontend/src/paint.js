// Slice painting without the window mapping on the critical path: the one windowing loop (stored values →
// ABGR pixels through a lookup table, no per-pixel branch) and a small render-ahead cache of windowed
// slices, filled in idle time ahead of the scroll direction, keyed on the window so a stale window can
// never be shown. No DOM here (node --test runs it); the viewer supplies ImageData-backed buffers.

import { windowByte } from "./geometry.js";

export const LOADING = 0xff301a10; // ABGR: dark blue where slices have not arrived yet
export const CACHE_MB = 64; // windowed slices (and overlays) kept, all planes together
export const AHEAD = 12; // slices rendered ahead in the direction of travel
export const BEHIND = 3; // …and behind it (both sides get AROUND while the direction is unknown)
export const AROUND = 4;

/** The window lookup table of `img` at window `wl` ({c, w}): `{key, table, offset}`; `table` maps
 * `value + offset` to an opaque grey ABGR pixel (int16: offset 32768; uint16: 0); float32 has no table.
 * Only the image's own value range is filled (a CT: ~4k entries, not 65k). `prev` is reused when given. */
export function windowTable(img, wl, prev = null) {
  const key = `${img.dtype}|${wl.c}|${wl.w}|${img.invert}`;
  if (prev && prev.key === key) return prev;
  if (img.dtype === "float32") return { key, table: null, offset: 0, c: wl.c, w: wl.w, invert: img.invert };
  const offset = img.dtype === "int16" ? 32768 : 0;
  const table = prev && prev.table && prev.table.length === 65536 ? prev.table : new Uint32Array(65536);
  const lo = Math.max(0, Math.floor(img.range[0]) + offset), hi = Math.min(65535, Math.ceil(img.range[1]) + offset);
  for (let n = lo; n <= hi; n++) {
    const y = windowByte(n - offset, wl.c, wl.w, img.invert);
    table[n] = (0xff000000 | (y << 16) | (y << 8) | y) >>> 0;
  }
  return { key, table, offset, c: wl.c, w: wl.w, invert: img.invert };
}

/** Whether every stored slice that slice `index` of `plane` shows has arrived. */
export function sliceLoaded(loaded, nLoaded, plane, index) {
  if (plane === "axial") return loaded[index] === 1;
  if (plane === "image") return loaded[0] === 1;
  return nLoaded === loaded.length;
}

// Straight table loops: one per layout, the table read unconditionally (no per-pixel branch, no closure).
function rowLut(out, dst, data, src, n, stride, table, offset) {
  if (stride === 1) for (let u = 0; u < n; u++) out[dst + u] = table[data[src + u] + offset];
  else for (let u = 0; u < n; u++) out[dst + u] = table[data[src + u * stride] + offset];
}

function rowFloat(out, dst, data, src, n, stride, lut) {
  for (let u = 0; u < n; u++) {
    const y = windowByte(data[src + u * stride], lut.c, lut.w, lut.invert);
    out[dst + u] = (0xff000000 | (y << 16) | (y << 8) | y) >>> 0;
  }
}

/** Window slice `index` of `plane` of a `[nk, ni, nj]` volume into `out` (Uint32 ABGR, display order as in
 * geometry.js: axial u = j, v = i; coronal u = j, v = nk − 1 − k; sagittal u = i, v = nk − 1 − k).
 * Rows of slices not loaded yet are `LOADING`. */
export function windowSlice(out, data, loaded, shape, plane, index, lut) {
  const [nk, ni, nj] = shape;
  const row = lut.table ? (dst, src, n, stride) => rowLut(out, dst, data, src, n, stride, lut.table, lut.offset)
    : (dst, src, n, stride) => rowFloat(out, dst, data, src, n, stride, lut);
  if (plane === "axial" || plane === "image") {
    const k = plane === "image" ? 0 : index;
    if (!loaded[k]) out.fill(LOADING, 0, ni * nj);
    else row(0, k * ni * nj, ni * nj, 1);
  } else if (plane === "coronal") {
    for (let v = 0; v < nk; v++) {
      const k = nk - 1 - v, dst = v * nj;
      if (!loaded[k]) out.fill(LOADING, dst, dst + nj);
      else row(dst, (k * ni + index) * nj, nj, 1);
    }
  } else {
    for (let v = 0; v < nk; v++) {
      const k = nk - 1 - v, dst = v * ni;
      if (!loaded[k]) out.fill(LOADING, dst, dst + ni);
      else row(dst, k * ni * nj + index, ni, nj);
    }
  }
}

/** An LRU of painted slices bounded by bytes. Entries: `{key, pix (Uint32Array), data, w, h, bytes}`;
 * `alloc(w, h)` makes a buffer of w×h pixels (`{pix, data}`: the viewer wraps an ImageData); evicted
 * buffers of the same size are reused so filling ahead does not churn memory. */
export class SliceCache {
  constructor(maxBytes = CACHE_MB * 2 ** 20, alloc = (w, h) => ({ pix: new Uint32Array(w * h), data: null })) {
    this.maxBytes = maxBytes;
    this.alloc = alloc;
    this.map = new Map();
    this.bytes = 0;
    this.spare = [];
    this.hits = 0;
    this.misses = 0;
  }

  get size() { return this.map.size; }

  has(key) { return this.map.has(key); }

  /** The entry (marked recently used) or undefined. */
  get(key) {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e;
  }

  /** A w×h buffer to fill (a spare one when there is one): pass it to `put` once filled. */
  take(w, h) {
    const i = this.spare.findIndex((b) => b.w === w && b.h === h);
    if (i >= 0) return this.spare.splice(i, 1)[0];
    return { ...this.alloc(w, h), w, h };
  }

  /** Store `buf`: a filled buffer from `take`, or `{bitmap, bytes}` (an ImageBitmap, closed on eviction). */
  put(key, buf) {
    const old = this.map.get(key);
    if (old) { this.map.delete(key); this.bytes -= old.bytes; if (old.bitmap) old.bitmap.close(); }
    const e = { key, pix: buf.pix, data: buf.data, w: buf.w, h: buf.h, bitmap: buf.bitmap,
      bytes: buf.bytes ?? buf.pix.byteLength };
    this.map.set(key, e);
    this.bytes += e.bytes;
    while (this.bytes > this.maxBytes && this.map.size > 1) this.evict(this.map.keys().next().value);
    return e;
  }

  evict(key) {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.bytes -= e.bytes;
    if (e.bitmap) e.bitmap.close();
    else if (this.spare.length < 4) this.spare.push({ pix: e.pix, data: e.data, w: e.w, h: e.h });
  }

  /** Drop every entry whose key fails `keep(key)` (a window or overlay change: nothing stale stays). */
  retain(keep) {
    for (const key of [...this.map.keys()]) if (!keep(key)) this.evict(key);
  }

  clear() { for (const key of [...this.map.keys()]) this.evict(key); }
}

/** Slice indices to render ahead of `index` (nearest first) in a plane of `n` slices, moving `dir`
 * (+1, −1, or 0 when unknown): AHEAD in the direction of travel, BEHIND against it. */
export function aheadOrder(index, n, dir) {
  const fwd = dir === 0 ? AROUND : AHEAD, back = dir === 0 ? AROUND : BEHIND;
  const d = dir === 0 ? 1 : dir;
  const out = [index];
  for (let s = 1; s <= Math.max(fwd, back); s++) {
    if (s <= fwd && index + d * s >= 0 && index + d * s < n) out.push(index + d * s);
    if (s <= back && index - d * s >= 0 && index - d * s < n) out.push(index - d * s);
  }
  return out;
}

/** Mask/heat overlay of slice `index` of `plane` into `out` (Uint32 ABGR, straight alpha): the heat map's
 * colour where its byte is non-zero, else the label's colour (`colors[label]`, 0 = transparent). */
export function overlaySlice(out, labels, colors, heat, heatLut, shape, plane, index) {
  const [nk, ni, nj] = shape;
  const row = (dst, src, n, stride) => {
    if (heat && labels) {
      for (let u = 0; u < n; u++) {
        const p = src + u * stride, h = heat[p];
        out[dst + u] = h ? heatLut[h] : colors[labels[p]];
      }
    } else if (heat) for (let u = 0; u < n; u++) out[dst + u] = heatLut[heat[src + u * stride]];
    else if (stride === 1) for (let u = 0; u < n; u++) out[dst + u] = colors[labels[src + u]];
    else for (let u = 0; u < n; u++) out[dst + u] = colors[labels[src + u * stride]];
  };
  if (plane === "axial" || plane === "image") {
    const k = plane === "image" ? 0 : index;
    row(0, k * ni * nj, ni * nj, 1);
  } else if (plane === "coronal") {
    for (let v = 0; v < nk; v++) row(v * nj, ((nk - 1 - v) * ni + index) * nj, nj, 1);
  } else {
    for (let v = 0; v < nk; v++) row(v * ni, (nk - 1 - v) * ni * nj + index, ni, nj);
  }
}

/** The jet colour map at `x` ∈ [0, 1]: `[r, g, b]` bytes (dark blue → cyan → yellow → dark red). */
export function jet(x) {
  const c = (t) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - t))));
  return [c(3), c(2), c(1)];
}

/** Fill `out` (Uint32 ABGR, 256 entries; label n at n + 1, 0 transparent) with the colours of the label map
 * `labels` (`{names, colors}`, or null: all transparent) whose region `shown(name)` admits, at alpha
 * `opacity` — the selected region's 0.25 more, at most 1. */
export function labelColors(out, labels, opacity, shown, selectedRegion) {
  out.fill(0);
  if (labels) labels.names.forEach((name, n) => {
    if (!shown(name)) return;
    const [r, g, b] = labels.colors[n];
    const a = Math.round(255 * Math.min(1, name === selectedRegion ? opacity + 0.25 : opacity));
    out[n + 1] = ((a << 24) >>> 0) | (b << 16) | (g << 8) | r;
  });
  return out;
}

/** Fill `out` (Uint32 ABGR, 256 entries) with the heat map's colours: byte n → jet(n / 255) at alpha
 * 200·n / 255; 0 stays transparent. */
export function heatColors(out) {
  for (let n = 1; n < 256; n++) {
    const [r, g, b] = jet(n / 255);
    out[n] = ((Math.round((200 * n) / 255) << 24) >>> 0) | (b << 16) | (g << 8) | r;
  }
  return out;
}
