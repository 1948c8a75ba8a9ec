/** `hashify status PLAN`: the progress of the plan's apply, read from its journal. */
import { openPlan } from '../planfile/readPlan.js';
import { OP_DONE, OP_FAILED, OP_SKIPPED, readJournal } from '../journal/journal.js';
import { Output, type GlobalOptions } from './output.js';

export interface StatusArgs extends GlobalOptions {
  plan: string;
  journal?: string;
}

export function runStatus(args: StatusArgs, out: Output): number {
  const plan = openPlan(args.plan);
  plan.close();
  const state = readJournal(args.journal ?? `${args.plan}.journal`, plan.digest, 'apply', plan.totals.ops);
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
  const result = { digest: plan.digest, ops: plan.totals.ops, done, skipped, failed, next: finished ? plan.totals.ops : next, finished, runs: state.runs };
  out.result(result, () => [
    state.exists ? `Plan ${args.plan}: ${done} of ${plan.totals.ops} operations done, ${skipped} skipped, ${failed} failed (${state.runs} runs).` : `Plan ${args.plan} has not been applied yet (${plan.totals.ops} operations).`,
    finished ? 'Finished.' : `Next operation: ${next}. Run \`hashify apply ${args.plan}\` to continue.`,
    ...[...state.reasons].slice(0, 20).map(([op, why]) => `  op ${op}: ${state.status[op] === OP_SKIPPED ? 'skipped' : 'failed'}: ${why}`),
    ...(state.reasons.size > 20 ? [`  … and ${state.reasons.size - 20} more (see --json)`] : []),
  ]);
  return 0;
}
