/**
 * `hashify memory PLAN`: read-only, after an apply. How much page cache the plan's shared
 * inodes hold, how many processes in how many roots map them, the memory that sharing saves,
 * and every process that keeps a replaced copy (it must restart to share).
 */
import { openPlan } from '../planfile/readPlan.js';
import { measureMemory } from '../memory/measureMemory.js';
import { memoryResult, memoryText } from '../memory/report.js';
import { EXIT } from '../errors.js';
import type { Output, GlobalOptions } from './output.js';

export interface MemoryArgs extends GlobalOptions {
  plan: string;
}

export function runMemory(args: MemoryArgs, out: Output): number {
  const plan = openPlan(args.plan);
  try {
    const result = memoryResult(plan.digest, measureMemory(plan));
    out.result(result, () => memoryText(result));
  } finally {
    plan.close();
  }
  return EXIT.ok;
}
