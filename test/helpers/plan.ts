/** Plans in-process with the pipeline itself (no CLI, no output): for tests that need many plans. */
import { resolve } from 'node:path';
import { resolveRoots } from '../../src/plan/resolveRoots.js';
import { makePlan, type MadePlan } from '../../src/plan/makePlan.js';
import { HashCache } from '../../src/hash/hashCache.js';

/** `hashify plan ROOTS -o output --no-cache [--no-store]`, one thread, defaults otherwise. */
export async function planInProcess(roots: string[], output: string, options: { noStore?: boolean } = {}): Promise<MadePlan> {
  const resolved = resolveRoots({ roots, noStore: Boolean(options.noStore), link: 'hardlink' });
  return makePlan({
    ...resolved,
    output: resolve(output),
    link: 'hardlink',
    algorithm: 'sha256',
    minSize: 1n,
    exclude: [],
    match: { mtime: true, owner: true, mode: true, xattrs: true },
    linkMax: 65000,
    threads: 1,
    cache: HashCache.disabled(),
  });
}
