/**
 * PlanWriter's writer thread on a full filesystem (a real loop-mounted ext4): ENOSPC part-way
 * through the plan stops it with an IO error that names the plan and ENOSPC, and leaves no
 * plan and no temp file. Root only; skips with the reason where loop mounts are not possible.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { HashifyError } from '../../src/errors.js';
import { recordInode } from '../../src/plan/assemblePlan.js';
import { PlanWriter } from '../../src/planfile/writePlan.js';
import { PLAN_KIND, PLAN_VERSION, type HeaderRecord } from '../../src/planfile/records.js';
import { loopMountAvailable, makeLoopFs, perTestCleanups } from '../helpers/loopfs.js';

const probe = loopMountAvailable('ext4');
if (!probe.ok) console.warn(`skipping the plan writer's full-disk test: ${probe.reason}`);
const d = probe.ok ? describe : describe.skip;

const header: HeaderRecord = {
  type: 'header', kind: PLAN_KIND, version: PLAN_VERSION, tool: 'test', created: '2026-01-01T00:00:00.000Z', roots: [{ path: '/r' }], store: null,
  link: 'hardlink', algorithm: 'sha256', minSize: '1', match: { mode: true, owner: true, mtime: true, xattrs: true }, exclude: [], linkMax: 65000,
};

/** The link line of op `op`, as the planner hands it to the writer. */
function link(w: PlanWriter, op: number): void {
  const stat = { dev: '1', ino: String(op), size: '10', mode: 0o100644, uid: 0, gid: 0, nlink: 1, mtime: '1', ctime: '2', atime: '3' };
  const inode = recordInode(stat, [Buffer.from(`/r/${'x'.repeat(400)}/${op}`)]);
  w.links(op, op, inode, 'sha256-' + Buffer.alloc(32, op & 0xff).toString('base64'), { path: '/r/keeper', stat });
}

d('the plan writer on a full filesystem', () => {
  const cleanups = perTestCleanups();

  test('ENOSPC part-way: an IO error naming the plan and ENOSPC, no plan and no temp file left', () => {
    const loop = makeLoopFs({ type: 'ext4', sizeMiB: 8 });
    cleanups.push(() => loop.cleanup());
    const file = join(loop.dir, 'p.plan.jsonl');
    const w = new PlanWriter(file, header);
    let err: unknown;
    try {
      // About 40 MiB of lines into 8 MiB: the writer thread's write(2) fails part-way.
      for (let op = 0; op < 50_000; op++) link(w, op);
      w.finish({ files: 0, groups: 0, ops: 0, storeEntries: 0, bytesReclaimable: '0', sharedInodes: 0 });
    } catch (e) {
      err = e;
      w.abort();
    }
    expect(err).toBeInstanceOf(HashifyError);
    expect((err as HashifyError).code).toBe('IO');
    expect((err as Error).message).toContain(JSON.stringify(file));
    expect((err as Error).message).toContain('ENOSPC');
    expect(fs.readdirSync(loop.dir).filter((n) => n !== 'lost+found')).toEqual([]);
  });
});
