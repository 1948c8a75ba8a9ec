/**
 * The young generation stays at its size once told to, under the kind of churn writing a
 * plan makes: short-lived objects by the million beside a small working set that survives
 * a scavenge or two.
 */
import v8 from 'node:v8';
import { stopYoungGenerationGrowth } from '../../src/plan/youngGeneration.js';

const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

/** Allocates ~1 GB of short-lived objects, keeping the last few thousand alive for a while. */
function churn(): number {
  let live: object[] = [];
  let n = 0;
  for (let i = 0; i < 4_000_000; i++) {
    const o = { path: `/r/${i}`, stat: { ino: String(i), size: String(i * 7) }, paths: [i] };
    live.push(o);
    if (live.length > 4000) {
      n += live.length;
      live = [];
    }
  }
  return n + live.length;
}

test('the young generation does not grow after stopYoungGenerationGrowth', () => {
  stopYoungGenerationGrowth();
  const before = newSpace();
  expect(churn()).toBe(4_000_000);
  expect(newSpace()).toBeLessThanOrEqual(before);
});
