/**
 * Residency through cachestat(2): a file just written and read is in the page cache; where the
 * kernel has no cachestat (ENOSYS), a filter refuses it (EPERM) or the filesystem cannot tell
 * (EOPNOTSUPP) the answer is null, never a guess; a real error (a bad descriptor) is thrown.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { makeTree, type Tree } from '../helpers/tree.js';
import { residentBytes } from '../../src/memory/residency.js';

let tree: Tree;
afterEach(() => tree?.cleanup());

test('a file that was just read is resident, about its size', () => {
  tree = makeTree({ f: randomBytes(64 * 1024) });
  fs.readFileSync(tree.path('f'));
  const fd = fs.openSync(tree.path('f'), 'r');
  try {
    const n = residentBytes(fd);
    if (n === null) {
      console.warn('cachestat(2) is not available here (Linux < 6.5 or filtered): residency is null, as it must be');
      return;
    }
    expect(n).toBeGreaterThanOrEqual(64 * 1024);
    expect(n).toBeLessThanOrEqual(64 * 1024 + 2 * 1024 * 1024); // at most a large folio past the end
  } finally {
    fs.closeSync(fd);
  }
});

test.each(['ENOSYS', 'EPERM', 'EOPNOTSUPP'])('%s from cachestat means "unknown" (null)', (code) => {
  const refused = () => {
    throw Object.assign(new Error(`cachestat: (${code})`), { code });
  };
  expect(residentBytes(0, refused)).toBeNull();
});

test('a bad descriptor is an error, not an unknown', () => {
  expect(() => residentBytes(1 << 20)).toThrow(expect.objectContaining({ code: 'EBADF' }));
});
