import { storeEntryPath, parseStoreEntryPath, storeEntryRel } from '../../src/store/storePath.js';

const store = Buffer.from('/vservers/.hash');
const integrity = `sha256-${Buffer.alloc(32, 0xab).toString('base64')}`;

describe('store paths (layout 2: one shard level)', () => {
  test('an entry lives under one shard directory named by the first two hex digits', () => {
    expect(storeEntryPath(store, integrity).toString()).toBe(`/vservers/.hash/sha256/ab/${'ab'.repeat(31)}`);
  });
  test('further entries of one content carry a numeric suffix', () => {
    expect(storeEntryPath(store, integrity, 2).toString()).toBe(`/vservers/.hash/sha256/ab/${'ab'.repeat(31)}-2`);
  });
  test('sha512 entries are sharded the same way', () => {
    const i512 = `sha512-${Buffer.alloc(64, 0x01).toString('base64')}`;
    expect(storeEntryRel(i512)).toBe(`sha512/01/${'01'.repeat(63)}`);
    expect(parseStoreEntryPath(store, storeEntryPath(store, i512, 1))).toEqual({ integrity: i512, suffix: 1 });
  });
  test('paths round-trip through parse', () => {
    expect(parseStoreEntryPath(store, storeEntryPath(store, integrity, 3))).toEqual({ integrity, suffix: 3 });
    expect(parseStoreEntryPath(store, storeEntryPath(store, integrity))).toEqual({ integrity, suffix: 0 });
  });
  test('parse rejects what is not an entry path of this store', () => {
    expect(parseStoreEntryPath(store, Buffer.from('/vservers/.hash/sha256/ab/xyz'))).toBeUndefined();
    expect(parseStoreEntryPath(store, Buffer.from(`/vservers/.hash/sha256/ab/${'ab'.repeat(31)}-0`))).toBeUndefined();
    expect(parseStoreEntryPath(store, Buffer.from(`/other/sha256/ab/${'ab'.repeat(31)}`))).toBeUndefined();
    expect(parseStoreEntryPath(store, Buffer.from(`/vservers/.hashX/sha256/ab/${'ab'.repeat(31)}`))).toBeUndefined();
    // Layout 1 (two shard levels) is not an entry path of layout 2.
    expect(parseStoreEntryPath(store, Buffer.from(`/vservers/.hash/sha256/ab/ab/${'ab'.repeat(30)}`))).toBeUndefined();
    expect(parseStoreEntryPath(store, Buffer.from(`/vservers/.hash/md5/ab/${'ab'.repeat(31)}`))).toBeUndefined();
    expect(parseStoreEntryPath(store, Buffer.from(`/vservers/.hash/toString/ab/${'ab'.repeat(31)}`))).toBeUndefined();
  });
  test('an integrity string that is not sha256 or sha512 SRI is refused', () => {
    expect(() => storeEntryPath(store, 'sha256-!!')).toThrow(/not a sha256 or sha512/);
    expect(() => storeEntryPath(store, 'md5-AAAAAAAAAAAAAAAAAAAAAA==')).toThrow(/not a sha256 or sha512/);
  });
});
