/**
 * The scan on libuv's pool (readDirsAsync, batches of directories, listings taken in on the
 * main thread) records exactly what the inline walk records, and a directory it cannot open
 * gives its errno in place of a listing: a symlink on the way (ELOOP) or at the end (ENOTDIR),
 * never followed; a file (ENOTDIR); a name that is gone (ENOENT). A listing taken in is freed
 * at once.
 */
import { scanParallel } from '../../src/scan/scanParallel.js';
import { excludeMatcher } from '../../src/scan/excludeMatcher.js';
import { closeRoots } from '../../src/scan/walk.js';
import { WorkerPool } from '../../src/workers/workerPool.js';
import { linux } from '../../src/native/addon.js';
import { makeTree, type Entry } from '../helpers/tree.js';

async function scanRows(root: string, threads: number, exclude: string[] = []) {
  const warnings: string[] = [];
  const scan = await scanParallel({ roots: [Buffer.from(root)], skip: [Buffer.from(`${root}/skipped`)], minSize: 2n, exclude: excludeMatcher(exclude), onWarning: (m) => warnings.push(m) }, new WorkerPool(threads));
  closeRoots(scan.table.roots);
  const rows: string[] = [];
  for (let i = 0; i < scan.table.length; i++) rows.push(`${scan.table.path(i).toString()} ${scan.table.ino[i]} ${scan.table.size[i]}`);
  const { files, bytes, unreadable, otherDevice, vanished } = scan;
  return { rows: rows.sort(), counts: { files, bytes, unreadable, otherDevice, vanished }, warnings };
}

test('the pool records what the inline walk records', async () => {
  const spec: Record<string, Entry> = { 'skipped/f': 'never\n', 'tiny': 'x', 'l': { symlink: 'a0' }, 'x.log': 'excluded\n' };
  for (let a = 0; a < 12; a++) for (let b = 0; b < 25; b++) spec[`a${a}/b${b}/f${(a * b) % 7}`] = `content ${(a + b) % 5}\n`;
  const t = makeTree(spec);
  try {
    const inline = await scanRows(t.root, 0, ['*.log']);
    expect(inline.rows).toHaveLength(300);
    expect(await scanRows(t.root, 2, ['*.log'])).toEqual(inline);
    expect(await scanRows(t.root, 3, ['*.log'])).toEqual(inline);
  } finally {
    t.cleanup();
  }
});

test('readDirsAsync gives each directory its records, or its errno', async () => {
  const t = makeTree({ 'd/f': 'hello\n', 'd/g': 'bye\n', 'file': 'x\n', 'link': { symlink: 'd' } });
  const fd = linux().openRoot(Buffer.from(t.root));
  try {
    const rels = ['d', '', 'link/f', 'link', 'file', 'gone'].map((r) => Buffer.from(r));
    const out = await linux().readDirsAsync(Int32Array.from(rels, () => fd), rels);
    expect(Buffer.from(out[0] as ArrayBuffer)).toEqual(Buffer.from(linux().readDir(fd, rels[0])));
    expect(Buffer.from(out[1] as ArrayBuffer)).toEqual(Buffer.from(linux().readDir(fd, rels[1])));
    expect(out.slice(2)).toEqual([40, 20, 20, 2]); // ELOOP, ENOTDIR (O_DIRECTORY | O_NOFOLLOW), ENOTDIR, ENOENT
    // A listing taken in is freed at once (detached), not left to a later collection.
    const listing = out[0] as ArrayBuffer;
    expect(listing.byteLength).toBeGreaterThan(0);
    linux().freeNow(listing);
    expect(listing.byteLength).toBe(0);
  } finally {
    linux().close(fd);
    t.cleanup();
  }
});
