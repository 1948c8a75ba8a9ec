/**
 * The source of src/planfile/planRecordValidator.ts: ajv's standalone code for
 * schemas/plan-record.schema.json, made with the options schema.ts always used. A run that
 * reads a plan then loads one precompiled function instead of compiling the schema (~175 ms
 * of CPU, and ajv's compiler modules). `make validator` writes the file;
 * test/planfile/validator.test.ts fails while it is not exactly what this makes from the
 * current schema. Not loaded at run time.
 */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';

// ajv is CommonJS; under NodeNext the export is the module's default or the module itself.
type AjvClass = typeof AjvModule.default;
const Ajv: AjvClass = (AjvModule as unknown as { default?: AjvClass }).default ?? (AjvModule as unknown as AjvClass);
type Standalone = typeof standaloneModule.default;
const standaloneCode: Standalone = (standaloneModule as unknown as { default?: Standalone }).default ?? (standaloneModule as unknown as Standalone);

export const SCHEMA_URL = new URL('../../schemas/plan-record.schema.json', import.meta.url);
export const VALIDATOR_URL = new URL('../../src/planfile/planRecordValidator.ts', import.meta.url);

const BANNER = [
  '// @ts-nocheck',
  '/* Generated from schemas/plan-record.schema.json by src/planfile/validatorSource.ts (`make validator`): do not edit. */',
];

/** The validator module's text for `schemaText`: ESM, exporting `validate` (ajv's ValidateFunction). */
export function validatorSource(schemaText: string = readFileSync(SCHEMA_URL, 'utf8')): string {
  const ajv = new Ajv({ discriminator: true, allErrors: false, strict: true, code: { source: true, esm: true } });
  let code = standaloneCode(ajv, ajv.compile(JSON.parse(schemaText)));
  // ajv's ESM output still calls require() for its runtime helpers (ucs2length for
  // minLength/maxLength): each becomes an import of that CommonJS module.
  const imports: string[] = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)/gi, (_m, spec: string) => {
    const name = `runtime${imports.length}`;
    // Node's ESM import of a CommonJS module gives its exports object; a transpiling loader
    // (jest without --experimental-vm-modules) gives `exports.default`: take either.
    imports.push(`import ${name}_ from ${JSON.stringify(`${spec}.js`)};`, `const ${name} = ${name}_.default === undefined ? { default: ${name}_ } : ${name}_;`);
    return name;
  });
  if (/\brequire\(/.test(code)) throw new Error('ajv standalone code requires a module this generator does not import');
  return [...BANNER, ...imports, code.replace(/^"use strict";/, ''), ''].join('\n');
}
