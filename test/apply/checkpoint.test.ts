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
  const OPS = 16;
  const units = Array.from({ length: OPS }, (_, op) => ({ step, op, group: op }));
  const done = runSteps(units, { exec: f.exec, journal: f.journal, status: new Uint8Array(OPS), ops: OPS, abortOnDrift: false, stopRequested: () => undefined, batch: 2, checkpointEvery: 2 });
  // The first checkpoint's syncfs is left in flight: later batches still start.
  const runsAfterSync = () => f.events.slice(f.events.indexOf('syncfs begins') + 1).filter((e) => e.startsWith('run ')).length;
  for (let i = 0; i < 50 && !(f.events.includes('syncfs begins') && runsAfterSync() > 0); i++) await new Promise((r) => setImmediate(r));
  expect(f.events.includes('syncfs begins')).toBe(true);
  expect(runsAfterSync()).toBeGreaterThan(0);
  expect(f.events.some((e) => e.startsWith('journal'))).toBe(false);
  while (!f.events.includes('journal written') || f.syncs.length || f.events.filter((e) => e.startsWith('journal ') && e !== 'journal written').length < OPS) {
    f.syncs.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  const counts = await done;
  expect(counts).toMatchObject({ applied: OPS, failed: 0, notReached: 0 });
  // Every outcome is journaled after a syncfs that began after it ran, in plan order.
  const journaled = f.events.filter((e) => e.startsWith('journal ') && e !== 'journal written');
  expect(journaled).toEqual(Array.from({ length: OPS }, (_, op) => `journal ${op}`));
  for (let op = 0; op < OPS; op++) {
    const at = f.events.indexOf(`journal ${op}`);
    const ran = f.events.indexOf(`run ${Math.floor(op / 2) + 1}`);
    const sync = f.events.findIndex((e, i) => i > ran && e === 'syncfs begins');
    expect(sync).toBeGreaterThan(ran);
    expect(f.events.indexOf('syncfs ends', sync)).toBeLessThan(at);
  }
});
