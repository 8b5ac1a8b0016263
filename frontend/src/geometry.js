// Plane geometry of the canonical SPL volume (viewer/planes.py): pixels[k, i, j], k → superior,
// i → posterior, j → patient left. Radiological display (patient right on screen left):
//   axial    u = j, v = i            (screen up = anterior, left = patient right)
//   coronal  u = j, v = nk - 1 - k   (screen up = superior, left = patient right)
//   sagittal u = i, v = nk - 1 - k   (screen up = superior, left = anterior)
// A radiograph is one plane "image": u = column, v = row.
// (u, v) are display pixel coordinates with pixel edges at integers (pixel (u, v) covers [u, u+1)).

export const PLANES = ["axial", "coronal", "sagittal"];
export const NORMAL = { axial: 0, coronal: 1, sagittal: 2, image: 0 };
export const LETTERS = {
  axial: { top: "A", bottom: "P", left: "R", right: "L" },
  coronal: { top: "S", bottom: "I", left: "R", right: "L" },
  sagittal: { top: "S", bottom: "I", left: "A", right: "P" },
  image: null,
};

/** Plane description: sizes (nu, nv) in display pixels and mm per display pixel (su, sv). */
export function planeInfo(img, plane) {
  const [nk, ni, nj] = img.shape;
  const sp = img.spacing;
  if (img.ndim === 2) {
    const s = sp || [1, 1];
    return { plane: "image", nu: nj, nv: ni, su: s[1], sv: s[0], n: 1, known: !!sp };
  }
  const s = sp || [1, 1, 1];
  if (plane === "coronal") return { plane, nu: nj, nv: nk, su: s[2], sv: s[0], n: ni, known: !!sp };
  if (plane === "sagittal") return { plane, nu: ni, nv: nk, su: s[1], sv: s[0], n: nj, known: !!sp };
  return { plane: "axial", nu: nj, nv: ni, su: s[2], sv: s[1], n: nk, known: !!sp };
}

/** The voxel [k, i, j] shown at display pixel (u, v) of `plane` at the cursor's normal position. */
export function voxelAt(img, plane, cursor, u, v) {
  const nk = img.shape[0];
  if (img.ndim === 2 || plane === "image") return [0, v, u];
  if (plane === "coronal") return [nk - 1 - v, cursor[1], u];
  if (plane === "sagittal") return [nk - 1 - v, u, cursor[2]];
  return [cursor[0], v, u];
}

/** The display pixel (u, v) of voxel [k, i, j] in `plane`. */
export function displayOf(img, plane, voxel) {
  const nk = img.shape[0];
  const [k, i, j] = voxel;
  if (img.ndim === 2 || plane === "image") return [j, i];
  if (plane === "coronal") return [j, nk - 1 - k];
  if (plane === "sagittal") return [i, nk - 1 - k];
  return [j, i];
}

/** Slice index along the plane's normal for a cursor [k, i, j]. */
export function sliceOf(plane, cursor) {
  return plane === "image" ? 0 : cursor[NORMAL[plane]];
}

/** Normalised box (DESIGN §2) → display rect {u0, v0, u1, v1} in `plane` at `index`, or null. */
export function boxToDisplay(img, plane, index, box) {
  const [nk, ni, nj] = img.shape;
  if (img.ndim === 2 || plane === "image") {
    if (box.length !== 4) return null;
    return { u0: box[0] * nj, v0: box[1] * ni, u1: box[2] * nj, v1: box[3] * ni };
  }
  if (box.length !== 6) return null;
  const [x0, y0, z0, x1, y1, z1] = box;
  const normal = { axial: [z0, z1, nk], coronal: [y0, y1, ni], sagittal: [x0, x1, nj] }[plane];
  const [lo, hi, n] = normal;
  const sLo = index / n, sHi = (index + 1) / n;
  if (!(lo < sHi && hi > sLo) && !(lo === hi && lo >= sLo && lo <= sHi)) return null;
  if (plane === "axial") return { u0: x0 * nj, v0: y0 * ni, u1: x1 * nj, v1: y1 * ni };
  if (plane === "coronal") return { u0: x0 * nj, v0: (1 - z1) * nk, u1: x1 * nj, v1: (1 - z0) * nk };
  return { u0: y0 * ni, v0: (1 - z1) * nk, u1: y1 * ni, v1: (1 - z0) * nk };
}

const clamp01 = (x) => Math.min(1, Math.max(0, x));

/** Display rect → normalised box in `plane`; `base` (an existing 3D box) keeps its extent along the
 * normal, otherwise the current slice's slab [index/n, (index+1)/n] is used. */
export function displayToBox(img, plane, index, rect, base) {
  const [nk, ni, nj] = img.shape;
  const u0 = Math.min(rect.u0, rect.u1), u1 = Math.max(rect.u0, rect.u1);
  const v0 = Math.min(rect.v0, rect.v1), v1 = Math.max(rect.v0, rect.v1);
  if (img.ndim === 2 || plane === "image") {
    return [u0 / nj, v0 / ni, u1 / nj, v1 / ni].map(clamp01);
  }
  const b = base && base.length === 6 ? base.slice() : null;
  let out;
  if (plane === "axial") {
    const z = b ? [b[2], b[5]] : [index / nk, (index + 1) / nk];
    out = [u0 / nj, v0 / ni, z[0], u1 / nj, v1 / ni, z[1]];
  } else if (plane === "coronal") {
    const y = b ? [b[1], b[4]] : [index / ni, (index + 1) / ni];
    out = [u0 / nj, y[0], 1 - v1 / nk, u1 / nj, y[1], 1 - v0 / nk];
  } else {
    const x = b ? [b[0], b[3]] : [index / nj, (index + 1) / nj];
    out = [x[0], u0 / ni, 1 - v1 / nk, x[1], u1 / ni, 1 - v0 / nk];
  }
  return out.map(clamp01);
}

/** The cut of a stroke drawn on display pixels, in array order (see app/viewer_bridge.py):
 * returns {rows, cols, at(u, v) → flat index}. */
export function cutLayout(img, plane) {
  const [nk, ni, nj] = img.shape;
  if (img.ndim === 2 || plane === "image") return { rows: ni, cols: nj, at: (u, v) => v * nj + u };
  if (plane === "coronal") return { rows: nk, cols: nj, at: (u, v) => (nk - 1 - v) * nj + u };
  if (plane === "sagittal") return { rows: nk, cols: ni, at: (u, v) => (nk - 1 - v) * ni + u };
  return { rows: ni, cols: nj, at: (u, v) => v * nj + u };
}

/** Run lengths (0-run first) of a 0/1 Uint8Array. */
export function encodeRle(bits) {
  const runs = [];
  let cur = 0, count = 0;
  for (let p = 0; p < bits.length; p++) {
    const b = bits[p] ? 1 : 0;
    if (b === cur) count++;
    else { runs.push(count); cur = b; count = 1; }
  }
  runs.push(count);
  return runs;
}

/** VOI LINEAR window (DICOM PS3.3 C.11.2.1.2, as viewer/windowing.py): display byte of value x. */
export function windowByte(x, center, width, invert) {
  let y;
  if (width <= 1) y = x > center - 0.5 ? 255 : 0;
  else {
    const scale = 255 / (width - 1);
    const offset = (0.5 - (center - 0.5) / (width - 1)) * 255;
    y = Math.floor(Math.min(Math.max(x * scale + offset + 0.5, 0), 255.5 - 1e-3));
  }
  return invert ? 255 - y : y;
}
