/**
 * The distinct full digests of a plan, each stored once, and a small integer id for each:
 * a row holds a 4-byte id instead of its own 32-byte digest (n equal files, one copy).
 * An open-addressing table in typed arrays (no string or map entry per digest), keyed by
 * the digest's first four bytes (a cryptographic digest's bytes are uniform).
 */
import { release } from './candidates.js';

export class DigestSet {
  count = 0;
  private store: Uint8Array;
  /** id + 1 per slot, 0 when empty; the capacity is a power of two, at most half full. */
  private slots: Int32Array;

  constructor(readonly len: number, expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap);
    this.store = new Uint8Array(expected * len);
  }

  /** The id of `d[at..at+len)`, added when new. */
  intern(d: Uint8Array, at = 0): number {
    const mask = this.slots.length - 1;
    const { len, store } = this;
    let s = (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) & mask;
    for (;;) {
      const v = this.slots[s];
      if (v === 0) break;
      const o = (v - 1) * len;
      let k = 0;
      while (k < len && store[o + k] === d[at + k]) k++;
      if (k === len) return v - 1;
      s = (s + 1) & mask;
    }
    const id = this.count++;
    if ((id + 1) * len > this.store.length) {
      const bigger = new Uint8Array(Math.max((id + 1) * len, this.store.length * 2));
      bigger.set(this.store);
      this.store = bigger;
    }
    this.store.set(d.subarray(at, at + len), id * len);
    this.slots[s] = id + 1;
    if (this.count * 2 > this.slots.length) this.rehash();
    return id;
  }

  /** Drops the lookup slots and the spare room: the set is only read from now on (intern no longer works). */
  freeze(): void {
    const { slots, store } = this;
    this.slots = new Int32Array(0);
    this.store = store.slice(0, this.count * this.len);
    release(slots, store); // now, not at a collection during assembly (several MB at 100,000 digests)
  }

  /** The digest of `id` (a view: valid until the next intern). */
  digest(id: number): Uint8Array {
    return this.store.subarray(id * this.len, (id + 1) * this.len);
  }

  /** Bytewise order of two digests by the first byte that differs. */
  firstDiff(a: number, b: number): number {
    const { len, store } = this;
    for (let k = 0; k < len; k++) if (store[a * len + k] !== store[b * len + k]) return k;
    return len;
  }

  /** The byte k of digest `id`. */
  byte(id: number, k: number): number {
    return this.store[id * this.len + k];
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    const { len, store } = this;
    for (let id = 0; id < this.count; id++) {
      const o = id * len;
      let s = (store[o] | (store[o + 1] << 8) | (store[o + 2] << 16) | (store[o + 3] << 24)) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = id + 1;
    }
    this.slots = slots;
  }
}
