/**
 * `verify --content`: the bytes of every done operation's target, hashed again. A write into
 * a hard-linked file (`echo X >> guest/etc/motd`, an editor that writes in place, a tool
 * that truncates and rewrites) changes the content of every path sharing that inode, while
 * every stat field verify otherwise checks may still look as planned. Each shared inode is
 * read once, through a descriptor opened beneath its root without following symlinks.
 */
import { closeSync, fstatSync } from 'node:fs';
import type { OpenPlan } from '../planfile/readPlan.js';
import { PlanFiles } from '../memory/planFiles.js';
import { decodePath, displayPath, encodePath } from '../pathBytes.js';
import { errnoCode } from '../errors.js';
import { hashOpenFile } from './hashOpenFile.js';
import { statBeneath } from '../memory/targetInodes.js';
import { integrityParts } from '../integrity.js';

/** A done operation whose shared content no longer matches the plan. */
export interface ContentMismatch {
  op: number;
  path: string;
  /** The exact bytes of a name that is not UTF-8 (base64). */
  path64?: string;
  expected: string;
  /** The integrity found now, or null when it could not be read (see `reason`). */
  found: string | null;
  reason: string;
}

/** What `verify --content` found. */
export interface ContentCheck {
  /** Done operations whose target was hashed (or found to be unreadable). */
  checked: number;
  corrupt: ContentMismatch[];
}

type Found = { integrity: string } | { changed: string } | { error: string };

/** Re-hashes the target of every done operation of the plan (each shared inode once). */
export function verifyContent(plan: OpenPlan): ContentCheck {
  const files = new PlanFiles(plan.header);
  // The target's inode now, read at its path: plan version 2 copies a new store entry into a
  // new inode at apply time, so the plan's own record of the target is the keeper's.
  const targets = new Map<string, { dev: bigint; ino: bigint } | null>();
  const byInode = new Map<string, Found>();
  const result: ContentCheck = { checked: 0, corrupt: [] };
  try {
    for (const rec of plan.records()) {
      if (rec.type !== 'link') continue;
      const tkey = decodePath(rec.target).toString('latin1');
      if (!targets.has(tkey)) targets.set(tkey, statBeneath(files, decodePath(rec.target)) ?? null);
      const target = targets.get(tkey);
      if (!target) continue;
      const path = decodePath(rec);
      let fd: number;
      try {
        fd = files.open(path);
      } catch {
        continue; // gone or reached through a symlink: not done, and plain verify reports it
      }
      try {
        const st = fstatSync(fd, { bigint: true });
        if (!st.isFile() || st.dev !== target.dev || st.ino !== target.ino) continue;
        result.checked++;
        const key = `${st.dev}:${st.ino}`;
        let found = byInode.get(key);
        if (!found) {
          const alg = integrityParts(rec.integrity).algorithm;
          try {
            found = hashOpenFile(fd, alg);
          } catch (err) {
            found = { error: errnoCode(err) ?? (err as Error).message };
          }
          byInode.set(key, found);
        }
        if ('integrity' in found && found.integrity === rec.integrity) continue;
        result.corrupt.push({
          op: rec.op,
          ...encodePath(path),
          expected: rec.integrity,
          found: 'integrity' in found ? found.integrity : null,
          reason: 'integrity' in found ? 'its content changed (a write through a shared inode changes every path that shares it)' : 'changed' in found ? found.changed : `it cannot be read (${found.error})`,
        });
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    files.close();
  }
  return result;
}

/** The text lines of a content check, for `verify`'s report. */
export function contentLines(c: ContentCheck): string[] {
  const lines = [`Content: ${c.checked} done operations re-hashed, ${c.corrupt.length} no longer match the plan.`];
  for (const m of c.corrupt.slice(0, 20)) lines.push(`  op ${m.op} ${displayPath(decodePath(m))}: ${m.reason}`);
  if (c.corrupt.length > 20) lines.push(`  … and ${c.corrupt.length - 20} more`);
  if (c.corrupt.length) lines.push('  Every path sharing a changed inode shows the new bytes: restore it from a backup or a guest that was not linked (see README, "In-place writes").');
  return lines;
}
