/**
 * `hashify verify PLAN`: read-only. Each operation is done (the path is the target inode),
 * applicable (file and target are as planned) or drifted. Exit 3 when anything drifted.
 */
import { openPlan } from '../planfile/readPlan.js';
import { decodePath, displayPath, encodePath } from '../pathBytes.js';
import { checkIdentity } from '../apply/identity.js';
import { realFs } from '../apply/applyFs.js';
import { EXIT } from '../errors.js';
import { Output, type GlobalOptions } from './output.js';
import type { StoreRecord } from '../planfile/records.js';
import { verifyContent, contentLines, type ContentCheck } from '../verify/verifyContent.js';

export interface VerifyArgs extends GlobalOptions {
  plan: string;
  /** Also re-hash the target of every done operation (`--content`). */
  content?: boolean;
}

export function runVerify(args: VerifyArgs, out: Output): number {
  const plan = openPlan(args.plan);
  let applicable = 0, done = 0, drifted = 0;
  const examples: string[] = [];
  /** Every drifted operation, for --json. */
  const drifts: Array<{ op: number; path: string; path64?: string; reason: string }> = [];
  let content: ContentCheck | undefined;
  try {
    let store: StoreRecord | undefined;
    let targetDrift: string | undefined;
    let targetIno: string | undefined;
    let group = -1;
    for (const rec of plan.records()) {
      if (rec.type === 'store') {
        store = rec;
        continue;
      }
      if (rec.type !== 'link') continue;
      if (rec.group !== group) {
        group = rec.group;
        targetDrift = undefined;
        if (store?.group !== group) store = undefined;
        // The target as it should be now: the store entry if it exists, else the keeper.
        let tpath = decodePath(rec.target);
        let tst = realFs.lstat(tpath);
        // A copied-in entry (plan version 2) is a new inode with its keeper's metadata:
        // before it exists, the keeper is what must still be as planned.
        const made = tst && store?.keeper ? tst.ino.toString() : undefined;
        if (!tst && (store?.from || store?.keeper)) {
          tpath = decodePath((store.from ?? store.keeper)!);
          tst = realFs.lstat(tpath);
        }
        targetIno = made ?? (store?.keeper ? undefined : rec.target.stat.ino);
        if (!tst) targetDrift = 'its target is gone';
        else {
          const v = checkIdentity(tpath, tst, made ? { ...rec.target.stat, ino: made } : rec.target.stat, undefined, { integrity: rec.integrity, xattrs: rec.target.xattrs });
          if (!v.ok) targetDrift = `its target changed: ${v.drift}`;
        }
      }
      const path = decodePath(rec);
      const st = realFs.lstat(path);
      let verdict: string | undefined;
      if (st && st.dev.toString() === rec.target.stat.dev && st.ino.toString() === targetIno) {
        done++;
        continue;
      }
      if (targetDrift) verdict = targetDrift;
      else if (!st) verdict = 'it is gone';
      else {
        const v = checkIdentity(path, st, rec.stat, undefined, rec);
        if (!v.ok) verdict = v.drift;
      }
      if (verdict) {
        drifted++;
        if (args.json) drifts.push({ op: rec.op, ...encodePath(path), reason: verdict });
        else if (examples.length < 20) examples.push(`  op ${rec.op} ${displayPath(path)}: ${verdict}`);
      } else applicable++;
    }
    if (args.content) content = verifyContent(plan);
  } finally {
    plan.close();
  }
  out.result({ digest: plan.digest, ops: plan.totals.ops, applicable, done, drifted, drifts, ...(content && { contentChecked: content.checked, corrupt: content.corrupt }) }, () => [
    `${plan.totals.ops} operations: ${applicable} applicable, ${done} done, ${drifted} drifted since planning.`,
    ...examples,
    ...(drifted > examples.length ? [`  … and ${drifted - examples.length} more (all of them with --json)`] : []),
    ...(content ? contentLines(content) : []),
  ]);
  return drifted || content?.corrupt.length ? EXIT.drift : EXIT.ok;
}
