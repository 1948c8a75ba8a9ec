/**
 * The runner's checkpoints (src/run/runSteps.ts): outcomes are journaled only after a syncfs
 * begun after them has ended, and that syncfs runs off the main thread: the next batch
 * starts while it is in flight. A fake executor records the order of events.
 */
import { runSteps } from '../../src/run/runSteps.js';
import { S, type Executor, type Step, type StepResult } from '../../src/run/executor.js';
import type { JournalRecord } from '../../src/journal/journal.js';

function fake() {
  const events: string[] = [];
  const syncs: Array<() => void> = [];
  let batches = 0;
  const exec = {
    async run(steps: Step[]): Promise<StepResult[]> {
      events.push(`run ${++batches}`);
      return steps.map(() => ({ s: S.applied }));
    },
    syncfsAsync(): Promise<void> {
      events.push('syncfs begins');
      return new Promise((resolve) => syncs.push(() => (events.push('syncfs ends'), resolve())));
    },
    pathOf: () => Buffer.from('/x'),
  } as unknown as Executor;
  const journal = {
    append: (r: JournalRecord) => events.push(`journal ${r.t === 'done' ? r.op : r.t}`),
    checkpoint: () => events.push('journal written'),
  };
  return { events, syncs, exec, journal };
}

const step: Step = { k: 3, r: 0, d: Buffer.from('d'), n: Buffer.from('n') };

test('a batch starts while the last checkpoint syncs; its outcomes wait for that syncfs', async () => {
  const f = fake();
  const units = [0, 1, 2, 3].map((op) => ({ step, op, group: op }));
  const done = runSteps(units, { exec: f.exec, journal: f.journal, status: new Uint8Array(4), ops: 4, abortOnDrift: false, stopRequested: () => undefined, batch: 2, checkpointEvery: 2 });
  // Let the first two batches run; the syncfs of the first checkpoint is still in flight.
  for (let i = 0; i < 20 && !f.events.includes('run 2'); i++) await new Promise((r) => setImmediate(r));
  expect(f.events.slice(0, 3)).toEqual(['run 1', 'run 2', 'syncfs begins']);
  expect(f.events.some((e) => e.startsWith('journal'))).toBe(false);
  while (!f.events.includes('journal written') || f.syncs.length) {
    f.syncs.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  const counts = await done;
  expect(counts).toMatchObject({ applied: 4, failed: 0, notReached: 0 });
  // Every outcome is journaled after a syncfs that began after it ran, in plan order.
  const journaled = f.events.filter((e) => e.startsWith('journal ') && e !== 'journal written');
  expect(journaled).toEqual(['journal 0', 'journal 1', 'journal 2', 'journal 3']);
  for (const op of [0, 1, 2, 3]) {
    const at = f.events.indexOf(`journal ${op}`);
    const ran = f.events.indexOf(`run ${Math.floor(op / 2) + 1}`);
    const sync = f.events.findIndex((e, i) => i > ran && e === 'syncfs begins');
    expect(f.events.indexOf('syncfs ends', sync)).toBeLessThan(at);
  }
});
