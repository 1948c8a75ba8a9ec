/** Loads the native addon (native/*.c), built by `make build` into dist/native/linux.node. */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** [name, kind (0 gone, 1 file, 2 directory, 3 symlink, 4 other), dev, ino, nlink, size, blocks (512 B), ctimeNs]. */
export type StatRow = [Buffer, number, bigint, bigint, number, bigint, bigint, bigint];

export interface LinuxAddon {
  list(fd: number): Buffer;
  get(fd: number, name: string): Buffer | null;
  set(fd: number, name: string, value: Buffer): void;
  remove(fd: number, name: string): void;
  setTimes(fd: number, atimeNs: bigint, mtimeNs: bigint): void;
  syncfs(fd: number): void;
  /** One directory's regular files and subdirectories with their lstat fields; layout in native/scan.c. */
  readDir(path: Buffer): ArrayBuffer;
  /** Opens the directory at `path` (last component not followed): a root to resolve beneath. */
  openRoot(path: Buffer): number;
  /**
   * openat2 beneath `dirfd` with RESOLVE_BENEATH | NO_SYMLINKS | NO_XDEV | NO_MAGICLINKS:
   * a symlink anywhere on `rel` fails with ELOOP, `..` or a mount point with EXDEV.
   */
  openBeneath(dirfd: number, rel: Buffer, flags: number, mode?: number): number;
  /** Every name in the directory open at `dirfd`, with its kind from readdir's d_type (0 unknown, 1 file, 2 directory, 3 symlink, 4 other); no fstatat. */
  listAt(dirfd: number): Array<[Buffer, number]>;
  /** Every name in the directory open at `dirfd` with its lstat fields (never following), sorted by name, packed into one buffer: decode with src/store/packedRows.ts. */
  listPackedAt(dirfd: number): ArrayBuffer;
  /** `name`'s lstat fields in `dirfd` (not followed), or null when absent. */
  statAt(dirfd: number, name: Buffer): StatRow | null;
  /** Removes `name` in `dirfd` only while it is a regular file with one link and this dev/ino; true when removed. */
  unlinkUnusedAt(dirfd: number, name: Buffer, dev: bigint, ino: bigint): boolean;
  /** Removes the empty directory `name` in `dirfd`; false when not empty, gone or not a directory. */
  rmdirAt(dirfd: number, name: Buffer): boolean;
  /** Creates `name` in `dirfd` whole (O_TMPFILE, fsync, linkat); false when the name exists. */
  createWholeAt(dirfd: number, name: Buffer, data: Buffer, mode?: number): boolean;
  /** close(2) a descriptor the addon opened (in a worker thread, Node's fs warns about closing one it did not open). */
  closeFd(fd: number): void;
  /** Flags Node's fs.constants lacks. */
  constants: { O_PATH: number; O_TMPFILE: number; O_DIRECTORY: number; O_NOFOLLOW: number; O_NOATIME: number; RENAME_EXCHANGE: number; RENAME_NOREPLACE: number; AT_EMPTY_PATH: number };
}

let addon: LinuxAddon | undefined;

export function linux(): LinuxAddon {
  if (addon) return addon;
  // dist/native/linux.node beside the compiled code; from src/ (tests) the built one in dist/.
  const candidates = ['./linux.node', '../../dist/native/linux.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the native addon is not built (looked for ${candidates.join(', ')}): run \`make build\``);
  addon = createRequire(import.meta.url)(found) as LinuxAddon;
  return addon;
}
