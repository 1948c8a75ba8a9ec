import { storeEntryPath, parseStoreEntryPath } from '../../src/store/storePath.js';

const store = Buffer.from('/vservers/.hash');
const integrity = 'sha256-' + Buffer.alloc(32, 0xab).toString('base64');

describe('store entry paths', () => {
  test('are sharded by the hex digest', () => {
    expect(storeEntryPath(store, integrity).toString()).toBe(`/vservers/.hash/sha256/ab/ab/${'ab'.repeat(30)}`);
  });
  test('take a numeric suffix for further entries of the same content', () => {
    expect(storeEntryPath(store, integrity, 2).toString()).toBe(`/vservers/.hash/sha256/ab/ab/${'ab'.repeat(30)}-2`);
  });
  test('parse back to their integrity and suffix', () => {
    expect(parseStoreEntryPath(store, storeEntryPath(store, integrity, 3))).toEqual({ integrity, suffix: 3 });
  });
  test('reject names that are not entries', () => {
    expect(parseStoreEntryPath(store, Buffer.from('/vservers/.hash/sha256/ab/ab/xyz'))).toBeUndefined();
    expect(parseStoreEntryPath(store, Buffer.from(`/vservers/.hash/sha256/ab/ab/${'ab'.repeat(30)}-0`))).toBeUndefined();
    expect(parseStoreEntryPath(store, Buffer.from(`/other/sha256/ab/ab/${'ab'.repeat(30)}`))).toBeUndefined();
  });
});
