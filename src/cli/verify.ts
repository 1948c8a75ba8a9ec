/**
 * `hashify verify PLAN`: read-only. Each operation is done (the path is the target inode;
 * with --link reflink, the clone apply made of its file: isAppliedClone), applicable (file
 * and target are as planned) or drifted. Exit 3 when anything drifted.
 */
import { openPlan } from '../planfile/readPlan.js';
import { decodePath, displayPath, encodePath } from '../pathBytes.js';
import { checkIdentity, isAppliedClone } from '../apply/identity.js';
import { closeSync, fstatSync, type BigIntStats } from 'node:fs';
import { errnoCode } from '../errors.js';
import { PlanFiles } from '../memory/planFiles.js';
import { EXIT } from '../errors.js';
import { Output, type GlobalOptions } from './output.js';
import type { StoreRecord } from '../planfile/records.js';
import { verifyContent, contentLines, type ContentCheck } from '../verify/verifyContent.js';

export interface VerifyArgs extends GlobalOptions {
  plan: string;
  /** Also re-hash the target of every done operation (`--content`). */
  content?: boolean;
}

/** What is at a plan's path now, through a descriptor opened beneath its root; or why nothing can be. */
type Look = { fd: number; st: BigIntStats } | { fd?: undefined; why: string };

function look(files: PlanFiles, path: Buffer): Look {
  let fd: number;
  try {
    fd = files.open(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return { why: 'it is gone' };
    if (code === 'ELOOP') return { why: 'it, or a directory above it, was replaced by a symlink' };
    if (code === 'EXDEV') return { why: 'it lies beyond a mount point or outside the roots now' };
    return { why: `it cannot be opened (${code ?? (err as Error).message})` };
  }
  return { fd, st: fstatSync(fd, { bigint: true }) };
}

export function runVerify(args: VerifyArgs, out: Output): number {
  const plan = openPlan(args.plan);
  const files = new PlanFiles(plan.header);
  const reflink = plan.header.link === 'reflink';
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
        let target = look(files, decodePath(rec.target));
        // A copied-in entry (plan version 2) is a new inode with its keeper's metadata:
        // before it exists, the keeper is what must still be as planned.
        const made = target.fd !== undefined && store?.keeper ? target.st.ino.toString() : undefined;
        if (target.fd === undefined && (store?.from || store?.keeper)) target = look(files, decodePath((store.from ?? store.keeper)!));
        targetIno = made ?? (store?.keeper ? undefined : rec.target.stat.ino);
        if (target.fd === undefined) targetDrift = target.why === 'it is gone' ? 'its target is gone' : `its target: ${target.why}`;
        else {
          const v = checkIdentity(target.fd, target.st, made ? { ...rec.target.stat, ino: made } : rec.target.stat, undefined, { integrity: rec.integrity, xattrs: rec.target.xattrs });
          if (!v.ok) targetDrift = `its target changed: ${v.drift}`;
        }
        if (target.fd !== undefined) closeSync(target.fd);
      }
      const path = decodePath(rec);
      const now = look(files, path);
      let verdict: string | undefined;
      try {
        // Done: the path is the target inode (hard links), or the clone apply made (reflinks).
        if (now.fd !== undefined && (reflink ? isAppliedClone(now.fd, now.st, rec.stat, rec.xattrs) : now.st.dev.toString() === rec.target.stat.dev && now.st.ino.toString() === targetIno)) {
          done++;
          continue;
        }
        if (targetDrift) verdict = targetDrift;
        else if (now.fd === undefined) verdict = now.why;
        else {
          const v = checkIdentity(now.fd, now.st, rec.stat, undefined, rec);
          if (!v.ok) verdict = v.drift;
        }
      } finally {
        if (now.fd !== undefined) closeSync(now.fd);
      }
      if (verdict) {
        drifted++;
        if (args.json) drifts.push({ op: rec.op, ...encodePath(path), reason: verdict });
        else if (examples.length < 20) examples.push(`  op ${rec.op} ${displayPath(path)}: ${verdict}`);
      } else applicable++;
    }
    if (args.content) content = verifyContent(plan);
  } finally {
    files.close();
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
