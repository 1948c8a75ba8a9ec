import { lstatSync, readdirSync } from 'node:fs';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { openPlan } from '../../src/planfile/readPlan.js';
import { applyPlan } from '../../src/apply/applyPlan.js';
import { realFs, type ApplyFs } from '../../src/apply/applyFs.js';
import { readJournal, JournalWriter } from '../../src/journal/journal.js';

/** realFs whose link() fails with EMLINK once the target already has `max` links. */
function linkLimited(max: number): ApplyFs {
  return {
    ...realFs,
    link(existing, newPath) {
      if (Number(lstatSync(existing).nlink) >= max) throw Object.assign(new Error(`EMLINK: too many links, link '${existing}'`), { code: 'EMLINK' });
      realFs.link(existing, newPath);
    },
  };
}

async function applyWith(fs: ApplyFs, planFile: string) {
  const plan = openPlan(planFile);
  const journalFile = `${planFile}.journal`;
  const state = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
  const journal = new JournalWriter(journalFile, plan.digest, 'apply', state.valid, state.exists);
  try {
    return await applyPlan(plan, { fs, journal, state, onDrift: 'skip', verifyContent: false, stopRequested: () => undefined });
  } finally {
    journal.close();
    plan.close();
  }
}

/** The inodes of the files f0…f9, with their link counts. */
const inodes = (dir: string) => new Map(readdirSync(dir).filter((n) => n.startsWith('f')).map((n) => [lstatSync(`${dir}/${n}`).ino, lstatSync(`${dir}/${n}`).nlink]));

describe('apply at the link-count limit (EMLINK)', () => {
  test.each([['store', []], ['no-store', ['--no-store']]])('starts another target for the same content (%s mode) and links every file', async (_mode, flags) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 10; i++) files[`r/f${i}`] = 'same content\n';
    const t = makeTree(files);
    try {
      const plan = t.path('p.plan.jsonl');
      expect(hashify(['plan', t.path('r'), '-o', plan, '--no-cache', '-q', ...(flags as string[])]).status).toBe(0);
      const counts = await applyWith(linkLimited(4), plan);
      expect(counts).toMatchObject({ ops: 9, failed: 0, skipped: 0 });
      expect(counts.applied).toBe(9);
      // 10 paths, at most 4 links per inode (the store entry counts as one): more than one inode, far fewer than 10.
      const used = inodes(t.path('r'));
      expect(used.size).toBeGreaterThan(1);
      expect(used.size).toBeLessThanOrEqual(4);
      for (const nlink of used.values()) expect(nlink).toBeLessThanOrEqual(4);
      // A second run finds everything done, and follows the journaled new targets.
      const again = await applyWith(linkLimited(4), plan);
      expect(again).toMatchObject({ applied: 0, alreadyDone: 9, failed: 0 });
    } finally {
      t.cleanup();
    }
  });
});
