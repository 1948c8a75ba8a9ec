/** Loads the native addon (native/*.c), built by `make build` into dist/native/linux.node. */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
  /** The descriptor-based executor (native/executor*.c; typed in src/run/executor.ts). */
  execOpen(roots: Buffer[]): unknown;
  execRun(handle: unknown, steps: import('../run/executor.js').Step[], abortOnDrift: boolean): import('../run/executor.js').StepResult[];
  execSyncfs(handle: unknown, root: number): void;
  execClose(handle: unknown): void;
  /** flock(2) on `path` (made if missing unless `shared`), non-blocking: the descriptor, or EWOULDBLOCK. */
  lockFile(path: Buffer, shared?: boolean): number;
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
