/**
 * A plan's totals counted from its records, independently of src/planfile (the tests that
 * edit plans reseal them with these, so that only the semantic rules can refuse them).
 */
import { createHash } from 'node:crypto';

/** SRI sha256 of bytes, as hashify writes digests. */
export const sri = (bytes: Buffer | string) => 'sha256-' + createHash('sha256').update(bytes).digest('base64');

/** Lines as a plan file holds them, one newline after each. */
export const toBytes = (lines: string[]) => Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');

/** The trailer's counts as a reader must find them in these (parsed) body records. */
export function planTotals(recs: any[]): { groups: number; ops: number; storeEntries: number; bytesReclaimable: string; sharedInodes: number } {
  const groups = new Set<number>();
  const inodes = new Map<string, { paths: number; nlink: number; size: bigint }>();
  // A copied-in store entry costs one copy, paid from what its group frees (never below 0).
  const cost = new Map<number, bigint>();
  for (const r of recs) {
    if (r.type === 'store' || r.type === 'link') groups.add(r.group);
    if (r.type === 'store' && r.keeper) cost.set(r.group, BigInt(r.keeper.stat.size));
    if (r.type !== 'link') continue;
    const k = `${r.group}:${r.stat.dev}:${r.stat.ino}`;
    const i = inodes.get(k) ?? { paths: 0, nlink: r.stat.nlink, size: BigInt(r.stat.size) };
    i.paths++;
    inodes.set(k, i);
  }
  const freed = new Map<number, bigint>();
  for (const [k, i] of inodes) {
    const g = Number(k.split(':')[0]);
    if (i.paths >= i.nlink) freed.set(g, (freed.get(g) ?? 0n) + i.size);
  }
  let reclaim = 0n;
  for (const [g, f] of freed) if (f > (cost.get(g) ?? 0n)) reclaim += f - (cost.get(g) ?? 0n);
  return {
    groups: groups.size,
    ops: recs.filter((r) => r.type === 'link').length,
    storeEntries: recs.filter((r) => r.type === 'store').length,
    bytesReclaimable: reclaim.toString(),
    sharedInodes: groups.size,
  };
}
