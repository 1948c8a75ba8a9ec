/**
 * Builds a real directory tree from an object and removes it afterwards:
 *   const t = await makeTree({ 'a/x': 'hello', 'b/x': 'hello', 'b/l': { symlink: '../a/x' } });
 *   t.path('a/x'); … t.cleanup();
 * A value is file content (string or Buffer), or a spec with content, mode, mtime (ms or
 * Date), uid/gid, xattrs, a hard link to another entry, a symlink target, or a FIFO.
 * Keys may be Buffers' latin1 strings when `latin1: true` is set for non-UTF-8 names.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';

export type Entry =
  | string
  | Buffer
  | {
      content?: string | Buffer;
      mode?: number;
      mtime?: number | Date;
      uid?: number;
      gid?: number;
      xattrs?: Record<string, Buffer | string>;
      hardlink?: string;
      symlink?: string;
      fifo?: boolean;
      dir?: boolean;
    };

export interface Tree {
  root: string;
  path(rel: string): string;
  /** Path bytes of a relative name given as a latin1 string (for non-UTF-8 names). */
  bytes(rel: string): Buffer;
  cleanup(): void;
}

const DEFAULT_MTIME = new Date('2024-01-02T03:04:05Z');

export function makeTree(spec: Record<string, Entry>, options: { parent?: string } = {}): Tree {
  const root = fs.mkdtempSync(join(options.parent ?? tmpdir(), 'hashify-test-'));
  const tree: Tree = {
    root,
    path: (rel) => join(root, rel),
    bytes: (rel) => Buffer.concat([Buffer.from(root + '/'), Buffer.from(rel, 'latin1')]),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
  const links: Array<[string, string]> = [];
  for (const [rel, entry] of Object.entries(spec)) {
    const p = /[\u0080-\u00ff]/.test(rel) ? tree.bytes(rel) : Buffer.from(tree.path(rel));
    fs.mkdirSync(p.subarray(0, p.lastIndexOf(0x2f)), { recursive: true });
    if (typeof entry === 'string' || Buffer.isBuffer(entry)) {
      fs.writeFileSync(p, entry);
      fs.utimesSync(p, DEFAULT_MTIME, DEFAULT_MTIME);
      continue;
    }
    if (entry.hardlink) {
      links.push([entry.hardlink, rel]);
      continue;
    }
    if (entry.symlink) {
      fs.symlinkSync(entry.symlink, p);
      continue;
    }
    if (entry.fifo) {
      execFileSync('mkfifo', [p.toString()]);
      continue;
    }
    if (entry.dir) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.writeFileSync(p, entry.content ?? '');
    if (entry.uid !== undefined || entry.gid !== undefined) fs.chownSync(p, entry.uid ?? 0, entry.gid ?? 0);
    if (entry.mode !== undefined) fs.chmodSync(p, entry.mode);
    if (entry.xattrs) {
      for (const [name, value] of Object.entries(entry.xattrs)) {
        const v = Buffer.isBuffer(value) ? value : Buffer.from(value);
        execFileSync('setfattr', ['-n', name, '-v', '0x' + v.toString('hex'), p.toString()]);
      }
    }
    const mtime = entry.mtime ?? DEFAULT_MTIME;
    fs.utimesSync(p, mtime, mtime);
  }
  for (const [existing, rel] of links) fs.linkSync(tree.path(existing), tree.path(rel));
  return tree;
}

/** `{ relativePath: "ino nlink mode uid gid mtimeNs sha256" }` for every regular file below root. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: Buffer, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const p = Buffer.concat([dir, Buffer.from('/'), e.name]);
      const r = rel ? `${rel}/${e.name.toString('latin1')}` : e.name.toString('latin1');
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile()) {
        const st = fs.lstatSync(p, { bigint: true });
        const hash = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
        out[r] = `${st.ino} ${st.nlink} ${st.mode.toString(8)} ${st.uid} ${st.gid} ${st.mtimeNs} ${hash}`;
      }
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

/** Every entry below root (directories and symlinks too) with its identity, plus regular files' content. */
export function fullSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = { ...snapshot(root) };
  const walk = (dir: Buffer, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const p = Buffer.concat([dir, Buffer.from('/'), e.name]);
      const r = `${rel}/${e.name.toString('latin1')}`;
      const st = fs.lstatSync(p, { bigint: true });
      out[`lstat:${r}`] = `${st.ino} ${st.nlink} ${st.mode.toString(8)} ${st.uid} ${st.gid} ${st.size} ${st.mtimeNs}`;
      if (e.isDirectory()) walk(p, r);
    }
  };
  walk(Buffer.from(root), '');
  return out;
}
