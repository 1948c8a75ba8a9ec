/**
 * What the clone tests compare: every field `clone` promises to reproduce, for every entry
 * below a root, read without disturbing it (lstat of a directory before reading it, file
 * content through O_NOATIME, xattrs with lgetxattr), so that reading a tree twice, or SRC and
 * then DST, gives the same answer.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export interface Facts {
  /** rel path -> "type mode uid gid size rdev atimeNs mtimeNs" (+ symlink target, content digest). */
  entries: Map<string, string>;
  /** rel path -> xattrs "name=hex;…" (absent when none). */
  xattrs: Map<string, string>;
  /** Each inode with more than one name in the tree, as its sorted names. */
  linkSets: string[][];
  /** rel path -> [dev, ino]. */
  inodes: Map<string, [bigint, bigint]>;
}

function typeOf(st: fs.BigIntStats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chr';
  if (st.isBlockDevice()) return 'blk';
  if (st.isSocket()) return 'sock';
  return 'other';
}

function digest(p: Buffer): string {
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOATIME);
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(1 << 16);
    for (let n; (n = fs.readSync(fd, buf)) > 0; ) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/** Every xattr of every entry below root (getfattr -R, not following symlinks). */
function allXattrs(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = execFileSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: root, encoding: 'latin1', maxBuffer: 1 << 28 });
  let current = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice(8).replace(/^\.\/?/, '');
    else if (line.includes('=')) out.set(current, [out.get(current), line].filter(Boolean).join(';'));
  }
  return out;
}

/** The facts of the tree at root (see the file comment). */
export function treeFacts(root: string): Facts {
  const entries = new Map<string, string>();
  const inodes = new Map<string, [bigint, bigint]>();
  const pending: Array<[string, Buffer, fs.BigIntStats]> = [];
  const visit = (p: Buffer, rel: string) => {
    const st = fs.lstatSync(p, { bigint: true });
    inodes.set(rel, [st.dev, st.ino]);
    pending.push([rel, p, st]);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p, { encoding: 'buffer' }).sort(Buffer.compare)) {
        visit(Buffer.concat([p, Buffer.from('/'), name]), rel ? `${rel}/${name.toString('latin1')}` : name.toString('latin1'));
      }
    }
  };
  visit(Buffer.from(root), '');
  // contents and targets only after every lstat: reading may move a relatime atime
  for (const [rel, p, st] of pending) {
    let extra = '';
    if (st.isFile()) extra = ' ' + digest(p);
    if (st.isSymbolicLink()) extra = ' -> ' + fs.readlinkSync(p, { encoding: 'buffer' }).toString('latin1');
    const size = st.isDirectory() ? '-' : String(st.size);
    entries.set(rel, `${typeOf(st)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${size} ${st.rdev} a${st.atimeNs} m${st.mtimeNs}${extra}`);
  }
  const byInode = new Map<string, string[]>();
  for (const [rel, [dev, ino]] of inodes) {
    const k = `${dev}:${ino}`;
    byInode.set(k, [...(byInode.get(k) ?? []), rel]);
  }
  const linkSets = [...byInode.values()].filter((names) => names.length > 1).map((n) => n.sort()).sort();
  return { entries, xattrs: allXattrs(root), linkSets, inodes };
}

/** A scratch directory removed by the returned function. */
export function scratchDir(prefix = 'hashify-clone-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Sets atime and mtime with nanoseconds, never following a symlink (`touch -h`). */
export function setTimes(p: string, atime: string, mtime: string): void {
  execFileSync('touch', ['-h', '-a', '-d', atime, p]);
  execFileSync('touch', ['-h', '-m', '-d', mtime, p]);
}

/** Whether `cmd` is on the PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
