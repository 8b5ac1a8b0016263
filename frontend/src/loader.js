// Fetches a study's pixels once: gzip chunks of 8 slices (the browser inflates Content-Encoding: gzip),
// the chunk of the visible slice first, then the others outward from it, a few at a time.

const ARRAYS = { int16: Int16Array, uint16: Uint16Array, float32: Float32Array };
const PARALLEL = 4;

export class VolumeLoader {
  /** @param img the image entry of the state JSON; @param onChunk(k0, k1) after each chunk lands. */
  constructor(img, onChunk) {
    const [nk, ni, nj] = img.shape;
    this.img = img;
    this.sliceSize = ni * nj;
    this.data = new ARRAYS[img.dtype](nk * ni * nj);
    this.loaded = new Uint8Array(nk);
    this.nLoaded = 0;
    this.state = new Array(img.chunks).fill(0); // 0 wanted, 1 in flight, 2 done
    this.onChunk = onChunk;
    this.bytes = 0;
    this.errors = [];
    this.focus = 0;
    this.active = 0;
    this.closed = false;
  }

  get complete() { return this.nLoaded === this.loaded.length; }

  /** Prioritise the chunk holding slice `k` (and go on loading the rest). The very first call also
   * fetches slice `k` alone (fast to compress and send) so the first paint does not wait for its chunk. */
  want(k) {
    this.focus = Math.floor(k / this.img.chunk);
    if (!this.started && this.img.slice_url && this.img.chunks > 1) this.fetchSlice(k);
    this.started = true;
    this.pump();
  }

  async fetchSlice(k) {
    try {
      const resp = await fetch(this.img.slice_url + k, { credentials: "same-origin" });
      if (!resp.ok || this.closed || this.loaded[k]) return;
      const buf = await resp.arrayBuffer();
      if (this.loaded[k]) return;
      this.data.set(new (this.data.constructor)(buf), k * this.sliceSize);
      this.loaded[k] = 1;
      this.nLoaded++;
      this.bytes += buf.byteLength;
      this.onChunk(k, k + 1);
    } catch (err) {
      this.errors.push(String(err)); // its chunk brings it anyway
    }
  }

  next() {
    const n = this.state.length;
    for (let d = 0; d < n; d++) {
      for (const c of [this.focus + d, this.focus - d]) {
        if (c >= 0 && c < n && this.state[c] === 0) return c;
      }
    }
    return -1;
  }

  pump() {
    while (!this.closed && this.active < PARALLEL) {
      const c = this.next();
      if (c < 0) return;
      this.fetchChunk(c);
    }
  }

  async fetchChunk(c) {
    this.state[c] = 1;
    this.active++;
    try {
      const resp = await fetch(this.img.url + c, { credentials: "same-origin" });
      if (!resp.ok) throw new Error(`${resp.status} ${(await resp.text()).slice(0, 200)}`);
      const buf = await resp.arrayBuffer();
      if (this.closed) return;
      const k0 = c * this.img.chunk;
      const values = new (this.data.constructor)(buf);
      this.data.set(values, k0 * this.sliceSize);
      const k1 = k0 + values.length / this.sliceSize;
      for (let k = k0; k < k1; k++) if (!this.loaded[k]) { this.loaded[k] = 1; this.nLoaded++; }
      // (a slice fetched alone earlier is overwritten with the same values)
      this.bytes += buf.byteLength;
      this.state[c] = 2;
      this.onChunk(k0, k1);
    } catch (err) {
      this.state[c] = 0;
      this.errors.push(String(err));
      if (this.errors.length > 8) this.closed = true;
      this.onChunk(-1, -1, String(err));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      this.active--;
      this.pump();
    }
  }

  close() { this.closed = true; }
}

/** GET a gzip-encoded uint8 map (labels or heat). */
export async function fetchBytes(url) {
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`${url}: ${resp.status} ${(await resp.text()).slice(0, 200)}`);
  return new Uint8Array(await resp.arrayBuffer());
}
