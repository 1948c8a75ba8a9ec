/**
 * Groups rows by (device, digest) without a string or map entry per row: the rows that have a
 * digest are sorted in one Int32Array by device and digest bytes, then cut into runs.
 */
import type { FileTable } from '../scan/fileTable.js';

/** The runs of two or more rows with one device and one digest, each in row order. */
export function digestRuns(table: FileTable, digests: Uint8Array, has: Uint8Array, len: number): number[][] {
  let count = 0;
  for (let i = 0; i < has.length; i++) if (has[i]) count++;
  const rows = new Int32Array(count);
  for (let i = 0, k = 0; i < has.length; i++) if (has[i]) rows[k++] = i;
  const buf = Buffer.from(digests.buffer, digests.byteOffset, digests.length);
  // The first four bytes decide almost every comparison; the device only with several.
  const dv = new DataView(digests.buffer, digests.byteOffset, digests.byteLength);
  const head = new Uint32Array(has.length);
  for (let k = 0; k < count; k++) head[rows[k]] = dv.getUint32(rows[k] * len);
  const dev = table.dev;
  const sameDev = rows.every((i) => dev[i] === dev[rows[0]]);
  const cmp = (a: number, b: number): number => {
    if (!sameDev && dev[a] !== dev[b]) return dev[a] < dev[b] ? -1 : 1;
    if (head[a] !== head[b]) return head[a] < head[b] ? -1 : 1;
    return buf.compare(buf, b * len, b * len + len, a * len, a * len + len) || a - b;
  };
  rows.sort(cmp);
  const out: number[][] = [];
  for (let s = 0; s < count; ) {
    let e = s + 1;
    while (e < count && dev[rows[e]] === dev[rows[s]] && head[rows[e]] === head[rows[s]] && buf.compare(buf, rows[e] * len, rows[e] * len + len, rows[s] * len, rows[s] * len + len) === 0) e++;
    if (e - s >= 2) out.push(Array.from(rows.subarray(s, e)));
    s = e;
  }
  return out;
}
