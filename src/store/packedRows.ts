/**
 * Decodes the rows of `listPackedAt` (native/storedir.c): one buffer for a whole shard, so a
 * store of a million entries costs no million-times-eight N-API values.
 */

/** One name of a directory with its lstat fields (kind: 0 gone, 1 file, 2 directory, 3 symlink, 4 other). */
export interface DirRow {
  name: Buffer;
  kind: number;
  dev: bigint;
  ino: bigint;
  nlink: number;
  size: bigint;
  /** 512-byte blocks. */
  blocks: bigint;
  ctimeNs: bigint;
}

const HEAD = 56;

/** The rows in `buf`, in the order written (sorted by name). */
export function packedRows(buf: ArrayBuffer): DirRow[] {
  const view = new DataView(buf);
  const bytes = Buffer.from(buf);
  const rows: DirRow[] = [];
  for (let p = 0; p < buf.byteLength; ) {
    const len = view.getUint32(p + 4, true);
    rows.push({
      kind: view.getUint32(p, true),
      dev: view.getBigUint64(p + 8, true),
      ino: view.getBigUint64(p + 16, true),
      size: view.getBigUint64(p + 24, true),
      blocks: view.getBigUint64(p + 32, true),
      ctimeNs: view.getBigUint64(p + 40, true),
      nlink: view.getUint32(p + 48, true),
      name: bytes.subarray(p + HEAD, p + HEAD + len),
    });
    p += HEAD + ((len + 7) & ~7);
  }
  return rows;
}
