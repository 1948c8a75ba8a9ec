/**
 * The checked-in validator (src/planfile/planRecordValidator.ts) is ajv's standalone code
 * for the current schema: exactly what `make validator` writes, and it judges records as
 * ajv compiling the schema at run time does, with the same first error.
 */
import { readFileSync } from 'node:fs';
import AjvModule, { type ValidateFunction } from 'ajv';
import { validatorSource, SCHEMA_URL, VALIDATOR_URL } from '../../src/planfile/validatorSource.js';
import { validate } from '../../src/planfile/planRecordValidator.js';

const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule.default;
const generated = validate as unknown as ValidateFunction;

const stat = { dev: '2049', ino: '131', size: '4096', mode: 0o100644, uid: 0, gid: 0, nlink: 1, mtime: '1700000000000000000', ctime: '-5', atime: '0' };
const integrity = 'sha256-' + 'A'.repeat(43) + '=';
const records: Record<string, unknown> = {
  header: {
    type: 'header', kind: 'hashify-plan', version: 2, tool: 'hashify 0.1.0', created: '2026-12-02T00:00:00.000Z',
    roots: [{ path: '/r/a' }, { path: '/r/b', path64: 'L3IvYg==' }], store: { path: '/r/.hash' }, link: 'hardlink', algorithm: 'sha256',
    minSize: '1', match: { mtime: false, owner: true, mode: true, xattrs: true }, exclude: ['*.tmp'], linkMax: 65000, adopt: false,
  },
  store: { type: 'store', group: 0, integrity, path: '/r/.hash/x', keeper: { path: '/r/a/f', stat, xattrs: { 'user.a': 'eA==' } } },
  storeFrom: { type: 'store', group: 1, integrity, path: '/r/.hash/y', stat, from: { path: '/r/a/g' }, xattrs: {} },
  link: { type: 'link', op: 0, group: 0, path: '/r/a/f', stat, xattrs: { 'user.a': 'eA==' }, integrity, target: { path: '/r/.hash/x', stat, xattrs: { 'user.a': 'eA==' } } },
  trailer: {
    type: 'trailer', files: 3, groups: 1, ops: 1, storeEntries: 1, bytesReclaimable: '0', sharedInodes: 1, linesIntegrity: integrity,
    skipped: { otherDevice: 0, unreadable: 1, changedWhileScanning: 2 }, space: { bytesReclaimable: '-1', bytesApparent: '0', blockSize: 4096, storeDirectories: 2 },
  },
};

const odd = [undefined, null, true, -1, 0, 1.5, 2 ** 53, '', 'x', '/', '01', '-0', '18446744073709551616', 'é'.repeat((1 << 20) + 1), [], [1], {}, { path: '/p' }];

/** Every record with one value somewhere replaced by each odd value, removed, or joined by an unknown key. */
function* mutants(value: unknown, set: (v: unknown) => unknown): Generator<unknown> {
  for (const v of odd) yield set(v);
  if (value && typeof value === 'object') {
    yield set(Array.isArray(value) ? [...value, 'extra'] : { ...value, unknown: 1 });
    for (const [k, child] of Object.entries(value)) {
      yield* mutants(child, (v) => set(Array.isArray(value) ? value.map((c, i) => (String(i) === k ? v : c)) : { ...value, [k]: v }));
    }
  }
}

describe('the precompiled plan record validator', () => {
  test('is exactly what the generator makes from the current schema (run `make validator` after editing the schema)', () => {
    expect(readFileSync(VALIDATOR_URL, 'utf8')).toBe(validatorSource(readFileSync(SCHEMA_URL, 'utf8')));
  });

  test('accepts and refuses what ajv compiling the schema does, with the same errors', () => {
    const ajv = new Ajv({ discriminator: true, allErrors: false, strict: true });
    const compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_URL, 'utf8')));
    let refused = 0;
    let checked = 0;
    for (const rec of Object.values(records)) {
      for (const m of [rec, ...mutants(rec, (v) => v)]) {
        const want = [compiled(m), compiled.errors];
        const got = [generated(m), generated.errors];
        expect(got).toEqual(want);
        if (!want[0]) refused++;
        checked++;
      }
    }
    // The samples are valid, and most mutants are not.
    for (const rec of Object.values(records)) expect(compiled(rec)).toBe(true);
    expect(refused).toBeGreaterThan(checked * 0.8);
  });
});
