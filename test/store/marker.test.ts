import { closeSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { makeTree } from '../helpers/tree.js';
import { linux } from '../../src/native/addon.js';
import { STORE_MARKER, checkStoreMarker, ensureStoreMarker, openStore } from '../../src/store/marker.js';
import { HashifyError } from '../../src/errors.js';

const withFd = <T>(path: string, f: (fd: number) => T): T => {
  const fd = linux().openRoot(Buffer.from(path));
  try {
    return f(fd);
  } finally {
    closeSync(fd);
  }
};

function refusal(f: () => unknown): HashifyError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(HashifyError);
    expect((err as HashifyError).code).toBe('STORE_INVALID');
    expect((err as HashifyError).exitCode).toBe(2);
    return err as HashifyError;
  }
  throw new Error('expected a refusal');
}

describe('store marker', () => {
  test('a new (empty) store gets the marker with its layout, and it is then accepted', () => {
    const t = makeTree({ 's/.hashify.lock': '1 2\n' });
    try {
      withFd(t.path('s'), (fd) => ensureStoreMarker(fd));
      expect(JSON.parse(readFileSync(t.path(`s/${STORE_MARKER}`), 'utf8'))).toEqual({ kind: 'hashify-store', layout: 2 });
      withFd(t.path('s'), (fd) => ensureStoreMarker(fd)); // idempotent
      expect(() => checkStoreMarker(t.path('s'))).not.toThrow();
      closeSync(openStore(t.path('s')));
    } finally {
      t.cleanup();
    }
  });

  test('a directory with other contents is never adopted as a store', () => {
    const t = makeTree({ 'd/notes.txt': 'mine\n', 'd/sha256/x': 'y' });
    try {
      const e = refusal(() => withFd(t.path('d'), (fd) => ensureStoreMarker(fd, t.path('d'))));
      expect(e.message).toMatch(/older hashify|not a hashify store/);
      expect(existsSync(t.path(`d/${STORE_MARKER}`))).toBe(false);
      refusal(() => checkStoreMarker(t.path('d')));
    } finally {
      t.cleanup();
    }
  });

  test('a directory that is not a store is refused with a hint', () => {
    const t = makeTree({ 'd/notes.txt': 'mine\n', 'empty/': { dir: true } });
    try {
      expect(refusal(() => checkStoreMarker(t.path('d'))).message).toMatch(/is not a hashify store/);
      expect(refusal(() => checkStoreMarker(t.path('empty'))).hint).toMatch(/empty directory is not one yet/);
      expect(refusal(() => checkStoreMarker(t.path('missing'))).message).toMatch(/does not exist/);
    } finally {
      t.cleanup();
    }
  });

  test('a store of the old two-level layout is refused, saying what to do', () => {
    const t = makeTree({ [`old/sha256/ab/cd/${'ef'.repeat(30)}`]: 'x', 'old/.hashify.lock': '' });
    try {
      for (const f of [() => checkStoreMarker(t.path('old')), () => withFd(t.path('old'), (fd) => ensureStoreMarker(fd, t.path('old')))]) {
        const e = refusal(f);
        expect(e.message).toMatch(/older hashify \(two shard levels/);
        expect(e.hint).toMatch(/undo .* hashify version that applied them.*gc/);
      }
      expect(readdirSync(t.path('old')).sort()).toEqual(['.hashify.lock', 'sha256']);
    } finally {
      t.cleanup();
    }
  });

  test('a marker of another layout, a foreign marker and a symlinked marker or store are refused', () => {
    const t = makeTree({ 'v1/hashify-store.json': '{"kind":"hashify-store","layout":1}', 'junk/hashify-store.json': 'hello', 'real/hashify-store.json': '{"kind":"hashify-store","layout":2}' });
    try {
      expect(refusal(() => checkStoreMarker(t.path('v1'))).message).toMatch(/has layout 1/);
      expect(refusal(() => checkStoreMarker(t.path('junk'))).message).toMatch(/did not write/);
      mkdirSync(t.path('sym'));
      symlinkSync(t.path('real/hashify-store.json'), t.path('sym/hashify-store.json'));
      expect(refusal(() => checkStoreMarker(t.path('sym'))).message).toMatch(/symlink/);
      symlinkSync(t.path('real'), t.path('link'));
      expect(refusal(() => checkStoreMarker(t.path('link'))).message).toMatch(/symlink|not a directory/);
      writeFileSync(t.path('file'), 'x');
      refusal(() => checkStoreMarker(t.path('file')));
    } finally {
      t.cleanup();
    }
  });
});
