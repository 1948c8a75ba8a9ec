import { HashifyError } from '../errors.js';
import type { Output, GlobalOptions } from './output.js';
export function runUndo(_args: GlobalOptions & Record<string, unknown>, _out: Output): number {
  throw new HashifyError('USAGE', 'undo is not implemented yet');
}
