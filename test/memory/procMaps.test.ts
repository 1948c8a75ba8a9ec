/**
 * What /proc tells about a process: the files it maps (with the inode stat shows, one entry per
 * file however many pieces are mapped), its command, root and cgroup, and the systemd unit a
 * cgroup path names.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { makeTree, type Tree } from '../helpers/tree.js';
import { mapperAvailable, startMapper, type Mapper } from '../helpers/mapper.js';
import { mappedFiles, processInfo, unitOf } from '../../src/memory/procMaps.js';

let tree: Tree | undefined;
let mapper: Mapper | undefined;
afterEach(() => {
  mapper?.kill();
  mapper = undefined;
  tree?.cleanup();
  tree = undefined;
});

test.each([
  ['/system.slice/nginx.service', 'nginx.service'],
  ['/system.slice/docker-0123abcd.scope', 'docker-0123abcd.scope'],
  ['/user.slice/user-0.slice/session-3.scope', 'session-3.scope'],
  ['/system.slice/lxc@guest1.service/payload/system.slice/cron.service', 'cron.service'],
  ['/lxc.payload.guest1', undefined],
  ['/', undefined],
  [undefined, undefined],
])('the unit of cgroup %p is %p', (cgroup, unit) => {
  expect(unitOf(cgroup)).toBe(unit);
});

(mapperAvailable() ? test : test.skip)('a mapped file is found once, with the inode stat shows; other inodes are not listed', async () => {
  tree = makeTree({ f: randomBytes(100_000), g: 'other' });
  mapper = await startMapper(tree.path('f'));
  const st = fs.statSync(tree.path('f'), { bigint: true });
  const found = mappedFiles(mapper.pid, new Set([st.ino.toString()]))!;
  expect(found.map((f) => [f.dev, f.ino, f.nlink, f.path.toString(), f.confirmed])).toEqual([[st.dev, st.ino, 1, tree.path('f'), process.getuid?.() === 0]]);
  expect(mappedFiles(mapper.pid, new Set([fs.statSync(tree.path('g')).ino.toString()]))).toEqual([]);
  const info = processInfo(mapper.pid);
  expect(info.command).toMatch(/^python3/);
  expect(info.root?.toString()).toBe('/');
});
