/**
 * HASHIFY_TIMING=1 makes apply and undo say on standard error, in one JSON line, where the run's
 * time went (src/cli/runSession.ts traceRun; native/executor.c execStats): the plan's reading,
 * each lane's time with nothing to run, and the waits for the reapers that free replaced
 * inodes. bench/apply/run.sh reads that line to say what bounds apply. Without the variable,
 * nothing is printed.
 */
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

const t = makeTree(Object.fromEntries(['a', 'b', 'c'].flatMap((g) => Array.from({ length: 40 }, (_, i) => [`${g}/d${i % 4}/f${i}`, `content ${i % 20}\n`.repeat(50 + i)]))));
afterAll(() => t.cleanup());

interface Trace {
  readSeconds: number;
  laneIdleSeconds: number[];
  reaperWaits: number;
  reaperWaitSeconds: number;
  reaperDrainSeconds: number;
}

function traceOf(stderr: string): Trace[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('timing: run '))
    .map((l) => JSON.parse(l.slice('timing: run '.length)) as Trace);
}

function expectSane(trace: Trace[]): void {
  expect(trace).toHaveLength(1);
  const [x] = trace;
  expect(x.readSeconds).toBeGreaterThan(0);
  // Two lanes, and 20 contents whose digests fall on both (a group's lane is its digest's first byte, modulo 2).
  expect(x.laneIdleSeconds).toHaveLength(2);
  for (const s of [...x.laneIdleSeconds, x.reaperWaitSeconds, x.reaperDrainSeconds]) expect(s).toBeGreaterThanOrEqual(0);
  expect(Number.isInteger(x.reaperWaits)).toBe(true);
  if (x.reaperWaits === 0) expect(x.reaperWaitSeconds).toBe(0);
}

describe('HASHIFY_TIMING', () => {
  const plan = t.path('p.plan.jsonl');

  test('apply and undo print where they waited, and only when asked', () => {
    const env = { HASHIFY_TIMING: '1', HASHIFY_LANES: '2' };
    expect(hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', plan, '-q', '--no-cache']).status).toBe(0);
    const quiet = hashify(['apply', plan, '-q'], { env: { HASHIFY_LANES: '2' } });
    expect(quiet.status).toBe(0);
    expect(traceOf(quiet.stderr)).toEqual([]);
    const undone = hashify(['undo', plan, '-q'], { env });
    expect(undone.status).toBe(0);
    expectSane(traceOf(undone.stderr));
    const again = t.path('again.plan.jsonl');
    expect(hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', again, '-q', '--no-cache']).status).toBe(0);
    const applied = hashify(['apply', again, '-q'], { env });
    expect(applied.status).toBe(0);
    expectSane(traceOf(applied.stderr));
  });
});
