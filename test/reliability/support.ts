/**
 * Shared pieces of the reliability tests (loop-mounted filesystems): what a file "is" apart
 * from its inode, filling a filesystem, finding leftover temp names, and reading the result
 * of a command that may have printed nothing on stdout.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { CliResult } from '../helpers/cli.js';
import type { Entry } from '../helpers/tree.js';

export interface FileInfo {
  path: Buffer;
  st: fs.BigIntStats;
}

/** Every regular file below root (not below its `.hash` store), by relative path. */
export function files(root: string): Map<string, FileInfo> {
  const out = new Map<string, FileInfo>();
  const walk = (dir: Buffer, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const p = Buffer.concat([dir, Buffer.from('/'), e.name]);
      const r = rel ? `${rel}/${e.name.toString('latin1')}` : e.name.toString('latin1');
      if (e.isDirectory()) {
        if (e.name.toString() !== '.hash') walk(p, r);
      } else if (e.isFile()) out.set(r, { path: p, st: fs.lstatSync(p, { bigint: true }) });
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

/** `{ rel: "user.a=0x… security.capability=0x…" }` for every file below root that has xattrs. */
export function xattrsBelow(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = execFileSync('getfattr', ['-R', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], { encoding: 'utf8', maxBuffer: 1 << 28 });
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter(Boolean);
    if (!lines.length || !lines[0].startsWith('# file: ')) continue;
    const file = lines[0].slice('# file: '.length);
    out.set(file.slice(root.length + 1), lines.slice(1).sort().join(' '));
  }
  return out;
}

/**
 * What must never change: `{ rel: "mode uid gid mtimeNs size sha256 xattrs" }` for every file
 * (inode number, link count and ctime are what sharing changes, so they are left out).
 */
export function contentAndMetadata(root: string): Record<string, string> {
  const attrs = xattrsBelow(root);
  const out: Record<string, string> = {};
  for (const [rel, { path, st }] of files(root)) {
    const hash = createHash('sha256').update(fs.readFileSync(path)).digest('hex');
    out[rel] = `${st.mode.toString(8)} ${st.uid} ${st.gid} ${st.mtimeNs} ${st.size} ${hash} ${attrs.get(rel) ?? ''}`;
  }
  return out;
}

/** Number of distinct inodes among the files below root. */
export function inodeCount(root: string): number {
  return new Set([...files(root).values()].map((f) => f.st.ino)).size;
}

/** Every `.hashify-tmp-*` name anywhere below dir (store included). */
export function tmpLeftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name.startsWith('.hashify-tmp-')) out.push(p);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Fills the filesystem of `dir` with a file named `name` (written until ENOSPC, then
 * synced). `headroomKiB` is first set aside in a ballast file and freed afterwards, so that
 * roughly that much is free when this returns. Returns the filler's path.
 */
export function fillFilesystem(dir: string, name = 'filler', headroomKiB = 0): string {
  const ballast = join(dir, `${name}.ballast`);
  if (headroomKiB > 0) {
    fs.writeFileSync(ballast, Buffer.alloc(headroomKiB * 1024, 0x5a));
    const b = fs.openSync(ballast, 'r');
    fs.fsyncSync(b);
    fs.closeSync(b);
  }
  const filler = join(dir, name);
  const fd = fs.openSync(filler, 'w');
  try {
    for (const size of [1 << 20, 64 << 10, 4096, 1024, 512, 1]) {
      const chunk = Buffer.alloc(size, 0xa5);
      for (;;) {
        try {
          if (fs.writeSync(fd, chunk) < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    try {
      fs.fsyncSync(fd);
    } catch {
      /* delayed allocation may only now find the space gone; the file is as full as it gets */
    }
  } finally {
    fs.closeSync(fd);
  }
  if (headroomKiB > 0) fs.rmSync(ballast);
  execFileSync('sync', ['-f', dir]);
  return filler;
}

/** The `--json` result of a command, or undefined when it printed none (with the output, for the failure message). */
export function jsonOf(r: CliResult): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
}

/** A readable description of a command result for assertion messages. */
export const describeResult = (r: CliResult) => `exit ${r.status} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/**
 * `n` distinct contents, each in two guests `a/` and `b/` with identical metadata; every
 * seventh has xattrs (unless `xattrs: false`: each costs a setfattr), every fifth another
 * mode and owner. `size` bytes each (at least one line).
 */
export function twoGuests(n: number, size = 64, options: { xattrs?: boolean } = {}): Record<string, Entry> {
  const spec: Record<string, Entry> = {};
  const mtime = new Date('2022-03-04T05:06:07.891Z');
  for (let i = 0; i < n; i++) {
    const line = `file ${i} of ${n}\n`;
    const content = line.repeat(Math.max(1, Math.ceil(size / line.length))).slice(0, Math.max(size, line.length));
    for (const g of ['a', 'b']) {
      spec[`${g}/d${i % 8}/f${i}`] = {
        content,
        mtime,
        ...(i % 5 === 0 ? { mode: 0o640, uid: 1000 + (i % 3), gid: 100 } : {}),
        ...(i % 7 === 0 && options.xattrs !== false ? { xattrs: { 'user.hashify-test': `tag ${i}` } } : {}),
      };
    }
  }
  return spec;
}
