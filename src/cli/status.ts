/** `hashify status PLAN`: the progress of the plan's apply, read from its journal. */
import { openPlan } from '../planfile/readPlan.js';
import { OP_DONE, OP_FAILED, OP_SKIPPED, readJournal } from '../journal/journal.js';
import { Output, type GlobalOptions } from './output.js';
import { decodePath, displayPath, encodePath } from '../pathBytes.js';

export interface StatusArgs extends GlobalOptions {
  plan: string;
  journal?: string;
}

export function runStatus(args: StatusArgs, out: Output): number {
  const plan = openPlan(args.plan);
  let state;
  /** The path of each operation the journal gives a reason for (skipped or failed). */
  const paths = new Map<number, Buffer>();
  try {
    state = readJournal(args.journal ?? `${args.plan}.journal`, plan.digest, 'apply', plan.totals.ops);
    if (state.reasons.size) for (const rec of plan.records()) if (rec.type === 'link' && state.reasons.has(rec.op)) paths.set(rec.op, decodePath(rec));
  } finally {
    plan.close();
  }
  let done = 0, skipped = 0, failed = 0, next = -1;
  state.status.forEach((s, op) => {
    if (s === OP_DONE) done++;
    else if (s === OP_SKIPPED) skipped++;
    else {
      if (s === OP_FAILED) failed++;
      if (next < 0) next = op;
    }
  });
  const finished = next < 0;
  const kind = (op: number) => (state.status[op] === OP_SKIPPED ? 'skipped' : 'failed');
  const drifts = [...state.reasons].filter(([op]) => state.status[op] === OP_SKIPPED || state.status[op] === OP_FAILED).map(([op, reason]) => ({ op, status: kind(op), ...encodePath(paths.get(op) ?? Buffer.alloc(0)), reason }));
  const result = { digest: plan.digest, ops: plan.totals.ops, done, skipped, failed, next: finished ? plan.totals.ops : next, finished, runs: state.runs, drifts };
  out.result(result, () => [
    state.exists ? `Plan ${args.plan}: ${done} of ${plan.totals.ops} operations done, ${skipped} skipped, ${failed} failed (${state.runs} runs).` : `Plan ${args.plan} has not been applied yet (${plan.totals.ops} operations).`,
    finished ? 'Finished.' : `Next operation: ${next}. Run \`hashify apply ${args.plan}\` to continue.`,
    ...[...state.reasons].slice(0, 20).map(([op, why]) => `  op ${op} ${displayPath(paths.get(op) ?? '')}: ${kind(op)}: ${why}`),
    ...(state.reasons.size > 20 ? [`  … and ${state.reasons.size - 20} more (see --json)`] : []),
  ]);
  return 0;
}
