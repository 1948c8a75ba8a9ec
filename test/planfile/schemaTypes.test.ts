/**
 * The plan record types (src/planfile/records.ts) and the JSON schema (schemas/) cannot drift:
 * each table below is typed `Record<keyof T, Required>`, so adding, removing or renaming a
 * field of a type fails to compile until the table follows, and the test then requires the
 * schema to have exactly those properties, with exactly the required ones required.
 */
import { readFileSync } from 'node:fs';
import type { HeaderRecord, LinkRecord, StatRecord, StoreRecord, TargetRecord, TrailerRecord } from '../../src/planfile/records.js';

type Required = 'required' | 'optional';
const schema = JSON.parse(readFileSync(new URL('../../schemas/plan-record.schema.json', import.meta.url), 'utf8'));

const header: Record<keyof HeaderRecord, Required> = {
  type: 'required', kind: 'required', version: 'required', tool: 'required', created: 'required', roots: 'required', store: 'required',
  link: 'required', algorithm: 'required', minSize: 'required', match: 'required', exclude: 'required', linkMax: 'required', adopt: 'optional',
};
const store: Record<keyof StoreRecord, Required> = {
  type: 'required', group: 'required', integrity: 'required', path: 'required', path64: 'optional', stat: 'optional', xattrs: 'optional', from: 'optional', keeper: 'optional',
};
const link: Record<keyof LinkRecord, Required> = {
  type: 'required', op: 'required', group: 'required', path: 'required', path64: 'optional', stat: 'required', xattrs: 'optional', integrity: 'required', target: 'required',
};
const target: Record<keyof TargetRecord, Required> = { path: 'required', path64: 'optional', stat: 'required', xattrs: 'optional' };
const trailer: Record<keyof TrailerRecord, Required> = {
  type: 'required', files: 'required', groups: 'required', ops: 'required', storeEntries: 'required', bytesReclaimable: 'required', sharedInodes: 'required', skipped: 'optional', space: 'optional', linesIntegrity: 'required',
};
const stat: Record<keyof StatRecord, Required> = {
  dev: 'required', ino: 'required', size: 'required', mode: 'required', uid: 'required', gid: 'required', nlink: 'required', mtime: 'required', ctime: 'required', atime: 'optional',
};

function expectSame(def: { properties: Record<string, unknown>; required?: string[] }, table: Record<string, Required>): void {
  expect(Object.keys(def.properties).sort()).toEqual(Object.keys(table).sort());
  expect([...(def.required ?? [])].sort()).toEqual(Object.keys(table).filter((k) => table[k] === 'required').sort());
}

describe('plan record types and schema', () => {
  test.each([
    ['header', header],
    ['store', store],
    ['link', link],
    ['trailer', trailer],
    ['stat', stat],
  ])('%s: the same fields, the same required ones', (name, table) => expectSame(schema.definitions[name], table));

  test('a link target and a copied-in store entry\'s keeper have the fields of TargetRecord', () => {
    expectSame(schema.definitions.link.properties.target, target);
    expectSame(schema.definitions.store.properties.keeper, target);
  });
});
