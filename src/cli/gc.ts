/** `hashify gc STORE`: removes store entries no file uses (link count 1), under the store lock. */
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { HashifyError, errnoCode } from '../errors.js';
import { joinPath } from '../pathBytes.js';
import { acquireLock } from '../apply/lock.js';
import { checkStoreMarker } from '../store/marker.js';
import { collectGarbage } from '../gc/collectGarbage.js';
import { Output, formatBytes, type GlobalOptions } from './output.js';

export interface GcArgs extends GlobalOptions {
  store: string;
  dryRun: boolean;
}

export function runGc(args: GcArgs, out: Output): number {
  let store: Buffer;
  try {
    store = realpathSync.native(resolve(args.store), { encoding: 'buffer' });
    if (!statSync(store).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    throw new HashifyError('USAGE', `Store ${JSON.stringify(args.store)} ${errnoCode(err) === 'ENOENT' ? 'does not exist' : 'is not a directory'}`);
  }
  checkStoreMarker(store);
  const lock = acquireLock(joinPath(store, Buffer.from('.hashify.lock')).toString(), `Store ${JSON.stringify(store.toString())}`);
  try {
    const result = collectGarbage(store, args.dryRun, (p) => {
      if (!args.json && !args.quiet) process.stdout.write(p.toString() + '\n');
    });
    if (args.json) {
      process.stdout.write(JSON.stringify({ removed: result.removed.map((p) => p.toString()), bytes: Number(result.bytes), dryRun: args.dryRun, kept: result.kept }) + '\n');
    }
    out.info(`${args.dryRun ? 'Would remove' : 'Removed'} ${result.removed.length} unused store entries (${formatBytes(result.bytes)}); ${result.kept} in use.`);
    return 0;
  } finally {
    lock.release();
  }
}
