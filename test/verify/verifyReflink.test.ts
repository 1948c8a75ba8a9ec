/**
 * `verify` of a reflink plan after apply: each path holds a new inode, the clone apply made
 * with the file's recorded metadata, so "the path is the target inode" cannot say done.
 * Those operations are done (exit 0, as apply's rerun and status say); a file someone else
 * put at the path afterwards (another mtime, mode or xattrs) is still drift. Root only, on a
 * loop-mounted btrfs; skipped with the reason elsewhere.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs } from '../helpers/loopfs.js';

const btrfs = loopMountAvailable('btrfs');
if (!btrfs.ok) console.warn(`skipping verify of reflink plans: ${btrfs.reason}`);

(btrfs.ok ? test : test.skip)('verify after a reflink apply: done, not drifted; a file put at a path later is drift', () => {
  const loop = makeLoopFs({ type: 'btrfs', sizeMiB: 128 });
  try {
    const mtime = new Date('2020-03-04T05:06:07.089Z');
    const data = randomBytes(300000);
    const spec = Object.fromEntries(['a', 'b', 'c', 'd'].map((g) => [`${g}/f`, { content: data, mtime, mode: 0o640, xattrs: { 'user.k': 'v' } }]));
    const t = makeTree(spec, { parent: loop.dir });
    const plan = join(loop.dir, 'p.plan.jsonl');
    const roots = ['a', 'b', 'c', 'd'].map((g) => t.path(g));
    expect(hashify(['plan', ...roots, '--link', 'reflink', '-o', plan, '--no-cache', '-q']).status).toBe(0);
    const before = hashify(['verify', plan, '--json']);
    expect({ status: before.status, ...before.json() }).toMatchObject({ status: 0, ops: 3, applicable: 3, done: 0, drifted: 0 });

    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, ...r.json() }).toMatchObject({ status: 0, applied: 3 });
    const v = hashify(['verify', plan, '--json']);
    expect({ status: v.status, ...v.json() }).toEqual({ status: 0, digest: r.json().digest, ops: 3, applicable: 0, done: 3, drifted: 0, drifts: [] });

    // Someone replaces the clones afterwards: new content (new mtime), a chmod, other xattrs.
    const [p1, p2, p3] = ['b', 'c', 'd'].map((g) => t.path(`${g}/f`));
    fs.writeFileSync(`${p1}.new`, randomBytes(300000));
    fs.renameSync(`${p1}.new`, p1);
    fs.chmodSync(p2, 0o600);
    execFileSync('setfattr', ['-n', 'user.k', '-v', 'other', p3]);
    const after = hashify(['verify', plan, '--json']);
    expect(after.status).toBe(3);
    expect(after.json()).toMatchObject({ done: 0, drifted: 3 });
    expect((after.json().drifts as Array<{ path: string }>).map((d) => d.path).sort()).toEqual([p1, p2, p3]);
  } finally {
    loop.cleanup();
  }
});

