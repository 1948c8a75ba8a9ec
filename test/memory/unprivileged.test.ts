/**
 * `memory` run by a user who is not root: /proc/PID/map_files cannot be read, so mappings are
 * matched by the device and inode /proc/PID/maps shows (counted as unconfirmed), a replaced
 * copy by the " (deleted)" maps shows; its page cache is unknown (null). Only the user's own
 * processes are seen. Root only (it drops to nobody); skipped with the reason otherwise.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { makeTree, type Tree } from '../helpers/tree.js';
import { CLI, hashify } from '../helpers/cli.js';
import { mapperAvailable, startMapper, systemPython, type Mapper } from '../helpers/mapper.js';

const NOBODY = 65534;

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('sh', ['-c', 'command -v setpriv']).status !== 0) return 'setpriv (util-linux) is not installed';
  if (!mapperAvailable()) return 'python3 (with mmap) is not available';
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', systemPython(), '-c', 'import mmap'], { stdio: 'ignore' });
  if (r.status !== 0) return 'nobody cannot run python3';
  const n = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, '--version'], { stdio: 'ignore' });
  if (n.status !== 0) return `nobody cannot run ${CLI}`;
  return undefined;
}
const reason = unavailable();
if (reason) console.warn(`skipping memory as an unprivileged user: ${reason}`);
const maybe = reason ? test.skip : test;

let tree: Tree;
const mappers: Mapper[] = [];
afterEach(() => {
  for (const m of mappers.splice(0)) m.kill();
  tree?.cleanup();
});

describe('memory as nobody', () => {
  maybe("sees its own processes through maps alone: shared mappings counted (unconfirmed), a replaced copy stale with unknown bytes", async () => {
    const SIZE = 128 * 1024;
    const content = randomBytes(SIZE);
    tree = makeTree({ 'a/lib.so': content, 'b/lib.so': content, 'c/lib.so': content });
    fs.chmodSync(tree.root, 0o755);
    const old = await startMapper(tree.path('c/lib.so'), { asUser: NOBODY });
    mappers.push(old);
    const plan = `${tree.root}/p.jsonl`;
    expect(hashify(['plan', tree.path('a'), tree.path('b'), tree.path('c'), '-o', plan, '--no-cache', '--quiet']).status).toBe(0);
    expect(hashify(['apply', plan, '--quiet']).status).toBe(0);
    fs.chmodSync(plan, 0o644);
    for (const g of ['a', 'b']) mappers.push(await startMapper(tree.path(`${g}/lib.so`), { asUser: NOBODY }));
    const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, 'memory', plan, '--json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    // Host processes (root is "/"): each counts under the root of the path it mapped.
    expect(j).toMatchObject({ sharedInodes: 1, processes: 2, roots: 2 });
    expect(j.unconfirmedMappings).toBeGreaterThanOrEqual(3);
    const mine = j.stale.filter((s: { pid: number }) => s.pid === old.pid);
    expect(mine).toEqual([expect.objectContaining({ path: tree.path('c/lib.so'), bytes: null, size: SIZE })]);
    const text = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, 'memory', plan], { encoding: 'utf8' }).stdout;
    expect(text).toContain('map_files needs root');
  });
});
