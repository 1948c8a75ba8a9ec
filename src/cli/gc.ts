import { HashifyError } from '../errors.js';
import type { Output, GlobalOptions } from './output.js';
export function runGc(_args: GlobalOptions & Record<string, unknown>, _out: Output): number {
  throw new HashifyError('USAGE', 'gc is not implemented yet');
}
