/** `hashify gc STORE`: removes store entries no file uses (link count 1), under the store lock. */
import { closeSync } from 'node:fs';
import { absoluteBytes, displayPath, joinPath, shellWord } from '../pathBytes.js';
import { acquireLock } from '../apply/lock.js';
import { openStore } from '../store/marker.js';
import { collectGarbage } from '../gc/collectGarbage.js';
import { Output, formatBytes, type GlobalOptions } from './output.js';

export interface GcArgs extends GlobalOptions {
  store: string;
  dryRun: boolean;
}

export function runGc(args: GcArgs, out: Output): number {
  const store = absoluteBytes(args.store);
  // Refuses (exit 2) anything but a store of this layout, and a store that is a symlink.
  const fd = openStore(store);
  try {
    const lock = acquireLock(joinPath(store, Buffer.from('.hashify.lock')), `Store ${displayPath(store)}`);
    try {
      const result = collectGarbage(fd, args.dryRun, (rel) => {
        if (!args.json && !args.quiet) process.stdout.write(Buffer.concat([joinPath(store, rel), Buffer.from('\n')])); // the name's own bytes
      });
      if (args.json) {
        process.stdout.write(
          JSON.stringify({
            removed: result.removed.map((rel) => joinPath(store, rel).toString()),
            bytes: Number(result.bytes),
            bytesAllocated: Number(result.bytesAllocated),
            directories: result.directories,
            dryRun: args.dryRun,
            kept: result.kept,
            foreign: result.foreign.length,
          }) + '\n',
        );
      }
      const verb = args.dryRun ? 'Would remove' : 'Removed';
      out.info(
        `${verb} ${result.removed.length} unused store entries (${formatBytes(result.bytesAllocated)} on disk, ${formatBytes(result.bytes)} apparent) and ${result.directories} empty shard directories; ${result.kept} in use.`,
      );
      if (result.foreign.length) out.warn(`${result.foreign.length} things in the store are not entries and were left alone (symlinks are never followed): see \`hashify fsck ${shellWord(args.store)}\``);
      return 0;
    } finally {
      lock.release();
    }
  } finally {
    closeSync(fd);
  }
}
