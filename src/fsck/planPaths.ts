/**
 * The paths a plan linked to each store entry (`fsck --plan`): the keeper linked into the
 * store and every path whose link operation targets the entry. These are the paths that
 * share a damaged entry's bytes once the plan was applied (unless changed since).
 */
import { decodePath } from '../pathBytes.js';
import { openPlan } from '../planfile/readPlan.js';

/** Entry path (latin1 key) → the plan's paths that share it. */
export function planPaths(planFile: string): Map<string, Buffer[]> {
  const plan = openPlan(planFile);
  const out = new Map<string, Buffer[]>();
  const add = (entry: Buffer, path: Buffer) => {
    const key = entry.toString('latin1');
    const list = out.get(key);
    if (!list) out.set(key, [path]);
    else if (!list.some((p) => p.equals(path))) list.push(path);
  };
  try {
    for (const rec of plan.records()) {
      if (rec.type === 'store' && rec.from) add(decodePath(rec), decodePath(rec.from));
      else if (rec.type === 'link') add(decodePath(rec.target), decodePath(rec));
    }
  } finally {
    plan.close();
  }
  return out;
}
