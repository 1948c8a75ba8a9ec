/** ajv validation of plan records against schemas/plan-record.schema.json. */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { PlanRecord } from './records.js';

// ajv is CommonJS; under NodeNext the class is the module's default or the module itself.
type AjvClass = typeof AjvModule.default;
const Ajv: AjvClass = (AjvModule as unknown as { default?: AjvClass }).default ?? (AjvModule as unknown as AjvClass);

const SCHEMA_URL = new URL('../../schemas/plan-record.schema.json', import.meta.url);

let validator: ValidateFunction<PlanRecord> | undefined;

function compiled(): ValidateFunction<PlanRecord> {
  if (!validator) {
    const ajv = new Ajv({ discriminator: true, allErrors: false, strict: true });
    validator = ajv.compile<PlanRecord>(JSON.parse(readFileSync(SCHEMA_URL, 'utf8')));
  }
  return validator!;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the plan schema';
  const where = e.instancePath ? `field ${e.instancePath}` : 'record';
  const extra = e.keyword === 'additionalProperties' ? ` (${JSON.stringify(e.params.additionalProperty)})` : '';
  return `${where} ${e.message ?? 'is invalid'}${extra}`;
}

/** Returns undefined when `value` is a valid plan record, else a sentence saying what is wrong. */
export function schemaError(value: unknown): string | undefined {
  const validate = compiled();
  return validate(value) ? undefined : describe(validate.errors);
}
