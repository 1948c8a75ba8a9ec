/** Loads the native addon (native/*.c), built by `make build` into dist/native/linux.node. */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where an executor's run waited (native/executor.c, execStats); seconds. */
export interface ExecStats {
  /** Lane threads started so far. */
  threads: number;
  /** Per lane used: time it had nothing to run until the next batch came. */
  laneIdleSeconds: number[];
  /** How often, and how long in all, lanes found the reapers' ring full (freeing inodes is behind). */
  reaperWaits: number;
  reaperWaitSeconds: number;
  /** How long closing the executor waited for the last freed inodes (complete after close). */
  reaperDrainSeconds: number;
}

/** [name, kind (0 gone, 1 file, 2 directory, 3 symlink, 4 other), dev, ino, nlink, size, blocks (512 B), ctimeNs]. */
export type StatRow = [Buffer, number, bigint, bigint, number, bigint, bigint, bigint];

export interface LinuxAddon {
  list(fd: number): Buffer;
  get(fd: number, name: string): Buffer | null;
  set(fd: number, name: string, value: Buffer): void;
  remove(fd: number, name: string): void;
  setTimes(fd: number, atimeNs: bigint, mtimeNs: bigint): void;
  syncfs(fd: number): void;
  /**
   * One directory's regular files and subdirectories with their lstat fields (decoded by
   * src/scan/dirRecords.ts); `rel` is opened beneath `rootFd` ("" for the root itself).
   */
  readDir(rootFd: number, rel: Buffer): ArrayBuffer;
  /** readDir of each (rootFds[k], rels[k]) on a thread of libuv's pool: its records, or its errno when it cannot be read. */
  readDirsAsync(rootFds: Int32Array, rels: Buffer[]): Promise<Array<ArrayBuffer | number>>;
  /** Frees an ArrayBuffer's memory now (detaches it; a listing, a per-row array): it must not be read any more. */
  freeNow(records: ArrayBuffer): void;
  /** Opens the directory at `path` (last component not followed): a root to resolve beneath. */
  openRoot(path: Buffer): number;
  /**
   * openat2 beneath `dirfd` with RESOLVE_BENEATH | NO_SYMLINKS | NO_XDEV | NO_MAGICLINKS:
   * a symlink anywhere on `rel` fails with ELOOP, `..` or a mount point with EXDEV.
   */
  openBeneath(dirfd: number, rel: Buffer, flags: number, mode?: number): number;
  /**
   * Starts a clone of the directory `srcFd` into the empty directory `dstFd` (native/clone.c),
   * linking files whose inode is one of `entries` of the store `storeFd` (-1: none; `rels`
   * are the entries' paths below the store, each followed by a NUL). Takes ownership of the
   * three descriptors.
   */
  cloneStart(srcFd: number, dstFd: number, storeFd: number, entries: { dev: BigUint64Array; ino: BigUint64Array; rels: Buffer }): CloneHandle;
  /** Clones up to `budget` more entries; `done` once the root's own metadata is set. */
  cloneStep(handle: CloneHandle, budget: number): CloneProgress;
  /** Regular files two levels below the store's sha256/ and sha512/ (candidates for entries), never following a symlink. */
  listStoreFiles(storeFd: number): { dev: BigUint64Array; ino: BigUint64Array; rels: Buffer };
  /** Makes the cloned tree durable before its rename (native/clone_sync.c): says how. */
  cloneSync(handle: CloneHandle): 'journal' | 'syncfs';
  /** Removes `name` in `dirfd` and everything below it by descriptor, never following a symlink. */
  removeTree(dirfd: number, name: Buffer): void;
  /** fstatat(AT_SYMLINK_NOFOLLOW), or null when nothing is at `name`. */
  lstatAt(dirfd: number, name: Buffer): { mode: number; dev: bigint; ino: bigint } | null;
  /** renameat2(2) with RENAME_EXCHANGE or RENAME_NOREPLACE. */
  renameAt2(oldDirfd: number, oldName: Buffer, newDirfd: number, newName: Buffer, flags: number): void;
  /** flock(LOCK_EX | LOCK_NB): false when another process holds the lock. */
  tryLock(fd: number): boolean;
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
  /**
   * Hashes (mode 0 partial, 1 full + xattrs, 2 xattrs, 3 compare candidate groups ending at `groupEnds`) `rows` of
   * the scan table whose `columns` are FileTable.nativeColumns(); fills digests, status and
   * errnos; returns the bytes read and the xattrs of rows that have any (see src/hash/hashRows.ts).
   */
  hashRows(columns: ArrayBufferView[], rows: Int32Array, mode: number, algorithm: number, digests: Uint8Array, status: Uint8Array, errnos: Int32Array, groupEnds?: Int32Array): [number, Buffer | undefined];
  /** hashRows on a thread of libuv's pool; the arrays must not change until it settles. */
  hashRowsAsync(columns: ArrayBufferView[], rows: Int32Array, mode: number, algorithm: number, digests: Uint8Array, status: Uint8Array, errnos: Int32Array, groupEnds: Int32Array | undefined): Promise<[number, Buffer | undefined]>;
  /** malloc_trim(0): returns the free pages of every malloc arena (ended threads' too) to the kernel; true when any were. */
  trimMemory(): boolean;
  /** Closes a descriptor this addon opened (fs.closeSync warns about those in a worker thread). */
  close(fd: number): void;
  /** True when the XFS filesystem holding the directory `path` was made with reflink=1 (its geometry ioctl; ENOTTY elsewhere). */
  xfsReflink(path: Buffer): boolean;
  /**
   * cachestat(2) over the whole file: bytes in the page cache (dirty and under writeback
   * among them). Throws with the errno's code (ENOSYS before Linux 6.5).
   */
  cachestat(fd: number): { cache: number; dirty: number; writeback: number };
  /** The descriptor-based executor (native/executor*.c; typed in src/run/executor.ts). */
  execOpen(roots: Buffer[]): unknown;
  execRun(handle: unknown, batch: Buffer, abortOnDrift: boolean, fresh: boolean): Promise<[Buffer, Array<number | string>]>;
  execStats(handle: unknown): ExecStats;
  /** Each lane finishes its current step and starts no other (SIGINT/SIGTERM); the rest are not reached. */
  execStop(handle: unknown): void;
  execSyncfsAsync(handle: unknown, root: number): Promise<void>;
  execClose(handle: unknown): void;
  /** flock(2) on `path` (made if missing unless `shared`), non-blocking: the descriptor, or EWOULDBLOCK. */
  lockFile(path: Buffer, shared?: boolean): number;
  /** The plan file's writer thread (native/planwrite.c): writes and hashes queued buffers in order. */
  planWriteOpen(fd: number): PlanWriteHandle;
  /** Queues `buffer[0..length)` (kept unchanged by the caller until written); returns once at most `maxInFlight` are queued. Throws the first write error. */
  planWritePut(handle: PlanWriteHandle, buffer: Buffer, length: number, maxInFlight: number): void;
  /** Waits for the queue; the SHA-256 of every byte queued so far. */
  planWriteDigest(handle: PlanWriteHandle): Buffer;
  /** Waits for the queue and ends the thread (the descriptor stays the caller's). */
  planWriteClose(handle: PlanWriteHandle): void;
  /** The scan table's columns, held for planStatWrite and planLinkWrite (native/planstat.c). */
  planStatOpen(
    ino: BigUint64Array, size: BigUint64Array, mtime: BigInt64Array, ctime: BigInt64Array, atime: BigInt64Array, nlink: Uint32Array,
    dir: Uint32Array, nameAt: Uint32Array, names: Uint8Array, dirStart: Uint32Array, dirEnd: Uint32Array, dirBytes: Uint8Array,
  ): PlanStatHandle;
  /** Writes `head`, row's ino and size, `meta`, its nlink and times as stat JSON into `out` at `at`: where it ends, or -1 when it might not fit. */
  planStatWrite(handle: PlanStatHandle, row: number, out: Buffer, at: number, head: Buffer, meta: Buffer): number;
  /** Writes the link line `{"type":"link","op":…,"group":…,"path":…,"stat":…` of pathRow's path and row's stat, then `tail`: where it ends, -1 when it might not fit, -2 when the path needs escapes. */
  planLinkWrite(handle: PlanStatHandle, row: number, out: Buffer, at: number, op: number, group: number, head: Buffer, meta: Buffer, tail: Buffer, pathRow: number): number;
  /** Flags Node's fs.constants lacks. */
  constants: { O_PATH: number; O_TMPFILE: number; O_DIRECTORY: number; O_NOFOLLOW: number; O_NOATIME: number; RENAME_EXCHANGE: number; RENAME_NOREPLACE: number; AT_EMPTY_PATH: number };
}

/** An opaque plan writer thread (native/planwrite.c). */
export type PlanWriteHandle = { readonly __planWrite: unique symbol };

/** The scan table's columns as the addon holds them (native/planstat.c). */
export type PlanStatHandle = { readonly __planStat: unique symbol };

/** An opaque clone in progress (native/clone.c). */
export type CloneHandle = { readonly __clone: unique symbol };

/** Counts of a clone so far; a failed step throws an errno error with `path` (below DST). */
export interface CloneProgress {
  done: boolean;
  entries: number;
  /** Regular files made one more link to a store entry. */
  linked: number;
  /** Regular files copied (reflinked where the filesystem can). */
  copied: number;
  /** Further members of SRC's own hard-link sets, linked to their first copy. */
  hardlinked: number;
  bytesCopied: number;
  storeEntries: number;
  /** Store-backed files copied because their entry was at its link-count limit. */
  atLinkLimit: number;
  mountPoints: number;
  vanished: number;
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
