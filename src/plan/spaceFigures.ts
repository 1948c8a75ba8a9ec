/**
 * The space figures of a plan, as `du` and `df` will see them after apply (SPEC "Plans,
 * caches and output"), pure: the planner reports each inode that no path will use after
 * apply and each new store entry.
 *
 * - `bytesApparent`: the file sizes of the freed inodes.
 * - `bytesReclaimable`: their allocated blocks, minus what the store's new directories (and
 *   its marker, for a new store) will take. It can be negative: linking a few small files into
 *   a new store costs more directory blocks than it frees.
 *
 * The scan does not record st_blocks, so a file's allocation is estimated as its size rounded
 * up to the filesystem's block size (statvfs f_bsize): exact for ordinary files on ext4 and
 * XFS; too high for sparse files and for btrfs's small inline files. A new directory costs
 * one block, and a new shard's entries one directory record each (8 bytes + name, 4-byte
 * aligned, as ext4 stores them) beyond its first block, on a filesystem whose directories
 * take blocks at all; none on one whose directories take none (tmpfs, btrfs: the root's
 * st_blocks is 0 there). The growth of shards that exist already is not counted.
 */
import { STORE_MARKER } from '../store/storePath.js';
import type { SpaceRecord } from '../planfile/records.js';

/** What the planner needs to know about the store as it is now. */
export interface StoreShape {
  /** Whether `rel` (relative to the store: '', 'hashify-store.json', 'sha256', 'sha256/ab') exists. */
  has(rel: string): boolean;
}

/** A file of `size` bytes rounded up to whole blocks. */
export function allocatedBytes(size: bigint, blockSize: number): bigint {
  const b = BigInt(blockSize);
  return ((size + b - 1n) / b) * b;
}

/** A directory record's bytes for a name of `length` bytes (ext4: 8-byte header, 4-byte aligned). */
const direntBytes = (length: number) => (8 + length + 3) & ~3;

/** Float sums and sizes below this stay exact integers (each add stays under 2^53). */
const EXACT = 2 ** 51;

export class SpaceFigures {
  private apparent = 0n;
  private allocated = 0n;
  /** What freed() and copied() added since the last fold, in float (no BigInt per inode), exact: see add. */
  private apparentPart = 0;
  private allocatedPart = 0;
  /** Directories apply will create in the store. */
  storeDirectories = 0;
  private storeBytes = 0n;
  private made = new Set<string>();
  /** Directory-record bytes of the entries of each new shard. */
  private newShardRecords = new Map<string, number>();

  /** `store` absent: a plan without a store (nothing is created). `directoriesTakeBlocks`
   *  false: a new directory costs nothing (tmpfs, btrfs), its files still their blocks. */
  constructor(
    readonly blockSize: number,
    private store?: StoreShape,
    private directoriesTakeBlocks = true,
  ) {}

  /** An inode that no path uses after apply, of `size` bytes. */
  freed(size: bigint | number | string): void {
    this.add(size, 1);
  }

  /** A store entry's data copied in from its keeper (a new inode of `size` bytes; FICLONE may share the blocks, not counted). */
  copied(size: bigint | number | string): void {
    this.add(size, -1);
  }

  /**
   * Counts `size` bytes and their whole blocks, freed (sign 1) or taken (-1), exactly at any
   * size. In float while the size and both sums are below 2^51: a size rounded up to blocks is
   * then below 2^51 + blockSize, every sum below 2^53, and the rounding is integer arithmetic
   * (`%`), so no step rounds. Beyond, in BigInt.
   */
  private add(size: bigint | number | string, sign: 1 | -1): void {
    const n = Number(size);
    const b = this.blockSize;
    if (n < EXACT && Math.abs(this.apparentPart) < EXACT && Math.abs(this.allocatedPart) < EXACT && b < EXACT) {
      const rest = n % b;
      this.apparentPart += sign * n;
      this.allocatedPart += sign * (rest ? n - rest + b : n);
      return;
    }
    this.fold();
    const s = BigInt(size);
    this.apparent += BigInt(sign) * s;
    this.allocated += BigInt(sign) * allocatedBytes(s, b);
  }

  /** Moves the float sums into the BigInt totals. */
  private fold(): void {
    this.apparent += BigInt(this.apparentPart);
    this.allocated += BigInt(this.allocatedPart);
    this.apparentPart = this.allocatedPart = 0;
  }

  /** The file sizes of the freed inodes, less the copied-in entries'. */
  get bytesApparent(): bigint {
    this.fold();
    return this.apparent;
  }

  /** A new store entry, at `rel` relative to the store (`sha256/ab/<rest>[-N]`). */
  newEntry(rel: string): void {
    if (!this.store) return;
    const parts = rel.split('/');
    this.create('', 'dir');
    this.create(STORE_MARKER, 'file');
    this.create(parts[0], 'dir');
    const shard = `${parts[0]}/${parts[1]}`;
    if (this.create(shard, 'dir') || this.newShardRecords.has(shard)) {
      this.newShardRecords.set(shard, (this.newShardRecords.get(shard) ?? 0) + direntBytes(parts[2].length));
    }
  }

  /** Counts `rel` once when it does not exist yet; true when it is new. */
  private create(rel: string, kind: 'dir' | 'file'): boolean {
    if (this.made.has(rel) || this.store!.has(rel)) return false;
    this.made.add(rel);
    if (kind === 'dir') this.storeDirectories++;
    if (kind === 'file' || this.directoriesTakeBlocks) this.storeBytes += BigInt(this.blockSize);
    return true;
  }

  /** Store bytes: one block per new directory and file, and the blocks new shards' records fill beyond their first. */
  private storeCost(): bigint {
    let extra = 0n;
    if (this.directoriesTakeBlocks) for (const bytes of this.newShardRecords.values()) extra += allocatedBytes(BigInt(bytes), this.blockSize) - BigInt(this.blockSize);
    return this.storeBytes + (extra > 0n ? extra : 0n);
  }

  get bytesReclaimable(): bigint {
    this.fold();
    return this.allocated - this.storeCost();
  }

  /** The figures for the plan's trailer. */
  record(): SpaceRecord {
    return { bytesReclaimable: this.bytesReclaimable.toString(), bytesApparent: (this.bytesApparent < 0n ? 0n : this.bytesApparent).toString(), blockSize: this.blockSize, storeDirectories: this.storeDirectories };
  }
}

/** "1.2 MiB on disk (3.4 MiB apparent, …)" for people, sizes written by `format`; plans without the figures give the apparent size alone. */
export function spaceText(space: SpaceRecord | undefined, apparent: bigint | number, format: (n: bigint) => string): string {
  const signed = (n: bigint) => (n < 0n ? `-${format(-n)}` : format(n));
  if (!space) return signed(BigInt(apparent));
  return `${signed(BigInt(space.bytesReclaimable))} on disk (${signed(BigInt(space.bytesApparent))} apparent; the store gains ${space.storeDirectories} directories)`;
}
