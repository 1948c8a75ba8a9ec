/**
 * Every file the scan records lies on its root's filesystem (the table stores the device
 * once per root). A file of another filesystem bind-mounted over a file of the tree is left
 * out and counted as on another device, like a mounted directory. Needs root (mount --bind)
 * and a /dev/shm on another filesystem than the temp directory; skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { scanParallel } from '../../src/scan/scanParallel.js';
import { excludeMatcher } from '../../src/scan/excludeMatcher.js';
import { closeRoots } from '../../src/scan/walk.js';
import { WorkerPool } from '../../src/workers/workerPool.js';
import { makeTree } from '../helpers/tree.js';

function canBind(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    return statSync('/dev/shm').dev !== statSync(tmpdir()).dev;
  } catch {
    return false;
  }
}

const d = canBind() ? describe : describe.skip;

d('a file bind-mounted from another filesystem', () => {
  test('is not recorded, and counts as on another device', async () => {
    const t = makeTree({ 'a/x': 'same\n', 'a/y': 'same\n', 'b/x': 'same\n' });
    const shm = mkdtempSync('/dev/shm/hashify-bound-');
    const other = join(shm, 'f');
    writeFileSync(other, 'same\n');
    execFileSync('mount', ['--bind', other, t.path('a/y')]);
    try {
      for (const threads of [0, 2]) {
        const pool = new WorkerPool(threads);
        const scan = await scanParallel({ roots: [Buffer.from(t.root)], skip: [], minSize: 1n, exclude: excludeMatcher([]) }, pool);
        closeRoots(scan.table.roots);
        const paths = Array.from({ length: scan.table.length }, (_, i) => scan.table.path(i).toString()).sort();
        expect(paths).toEqual([t.path('a/x'), t.path('b/x')]);
        expect(scan.otherDevice).toBe(1);
        expect(scan.table.devOf(0)).toBe(BigInt(statSync(t.root).dev));
      }
    } finally {
      execFileSync('umount', [t.path('a/y')]);
      rmSync(shm, { recursive: true, force: true });
      t.cleanup();
    }
  });
});
