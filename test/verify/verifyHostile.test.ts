/**
 * `verify` reads a plan's paths beneath their roots by descriptor: a guest that swaps one of
 * its directories for a symlink to a host directory holding files of the same names gets
 * its operations reported as drifted ("replaced by a symlink"), and nothing of the host
 * directory is looked at (a path walk would lstat and hash the host's files instead).
 */
import * as fs from 'node:fs';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

test('a directory swapped for a symlink to a host directory is drift, never followed', () => {
  const same = 'shared library bytes\n'.repeat(100);
  const t = makeTree({ 'a/lib/x.so': same, 'b/lib/x.so': same, 'host/lib/x.so': 'host secret\n' });
  try {
    const plan = t.path('p.plan.jsonl');
    expect(hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
    fs.renameSync(t.path('b/lib'), t.path('b/lib.old'));
    fs.symlinkSync(t.path('host/lib'), t.path('b/lib'));
    const hostAtime = fs.statSync(t.path('host/lib/x.so'), { bigint: true }).atimeNs;

    const r = hashify(['verify', plan, '--json']);
    expect(r.status).toBe(3);
    const drifts = r.json().drifts as Array<{ path: string; reason: string }>;
    expect(drifts.find((d) => d.path === t.path('b/lib/x.so'))?.reason).toMatch(/symlink/);
    expect(fs.statSync(t.path('host/lib/x.so'), { bigint: true }).atimeNs).toBe(hostAtime);
  } finally {
    t.cleanup();
  }
});
