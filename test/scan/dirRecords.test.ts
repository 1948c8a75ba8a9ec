/**
 * The native readDir and its one decoder agree on the layout: every field of a real
 * directory's entries reads back as lstat sees it; symlinks and FIFOs are left out; a
 * directory is opened beneath the root's descriptor, never through a symlink.
 */
import { closeSync, lstatSync } from 'node:fs';
import { linux } from '../../src/native/addon.js';
import { DirRecords, KIND_DIR, KIND_FILE } from '../../src/scan/dirRecords.js';
import { makeTree } from '../helpers/tree.js';

function read(rootFd: number, rel: string): Map<string, { kind: number; dev: bigint; ino: bigint; size: bigint; mtime: bigint; ctime: bigint; atime: bigint; mode: number; uid: number; gid: number; nlink: number }> {
  const rec = new DirRecords(linux().readDir(rootFd, Buffer.from(rel)));
  const out = new Map();
  while (rec.next()) {
    const { kind, dev, ino, size, mtime, ctime, atime, mode, uid, gid, nlink } = rec;
    out.set(rec.name.toString(), { kind, dev, ino, size, mtime, ctime, atime, mode, uid, gid, nlink });
  }
  return out;
}

describe('the native directory records', () => {
  test('decode to the fields lstat gives, in name order, without symlinks or FIFOs', () => {
    const t = makeTree({ 'd/b.txt': 'hello', 'd/a.txt': { content: 'x'.repeat(300), mode: 0o640, uid: 12, gid: 34 }, 'd/sub/z': 'z', 'd/link': { symlink: 'a.txt' }, 'd/fifo': { fifo: true } });
    const fd = linux().openRoot(Buffer.from(t.root));
    try {
      const got = read(fd, 'd');
      expect([...got.keys()]).toEqual(['a.txt', 'b.txt', 'sub']);
      for (const [name, r] of got) {
        const st = lstatSync(t.path(`d/${name}`), { bigint: true });
        expect(r).toEqual({
          kind: st.isFile() ? KIND_FILE : KIND_DIR, dev: st.dev, ino: st.ino, size: st.size, mtime: st.mtimeNs, ctime: st.ctimeNs,
          atime: st.atimeNs, mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), nlink: Number(st.nlink),
        });
      }
    } finally {
      closeSync(fd);
      t.cleanup();
    }
  });

  test('a directory reached through a symlink, or above the root, is refused', () => {
    const t = makeTree({ 'root/real/sub/f': 'f', 'root/via': { symlink: 'real' }, 'outside/g': 'g' });
    const fd = linux().openRoot(Buffer.from(t.path('root')));
    try {
      expect(read(fd, '').size).toBe(1); // real (the symlink is not listed)
      expect(() => read(fd, 'via')).toThrow(expect.objectContaining({ code: 'ENOTDIR' })); // O_NOFOLLOW|O_DIRECTORY
      expect(() => read(fd, 'via/sub')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
      expect(() => read(fd, '../outside')).toThrow(expect.objectContaining({ code: 'EXDEV' }));
    } finally {
      closeSync(fd);
      t.cleanup();
    }
  });
});
