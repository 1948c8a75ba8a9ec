/**
 * Streams plan records into FILE atomically: lines go to a temp file beside FILE, the
 * trailer carries the totals and the integrity of every line before it, then fsync and
 * rename. A crash leaves either no plan or the previous one, never half a plan (and a temp
 * file, which the next plan of FILE removes).
 *
 * Lines are encoded into one of a ring of buffers while the addon's writer thread
 * (native/planwrite.c) writes and hashes the ones before it: the main thread never waits
 * for write(2) or SHA-256 unless it is a whole ring ahead.
 */
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { HashifyError } from '../errors.js';
import { bytesOfText, displayPath, fsPath, joinPath } from '../pathBytes.js';
import { trailerJson, type BodyRecord, type HeaderRecord, type StoreRecord, type TargetRecord, type TrailerRecord } from './records.js';
import { linkRecord, type PlanInode, type PlanSink } from '../plan/assemblePlan.js';
import { LinkEncoder } from './linkEncoder.js';
import { fsyncDir } from '../fsyncDir.js';
import { integrityOf } from '../integrity.js';
import { linux, type PlanWriteHandle } from '../native/addon.js';

/** Bytes gathered before a buffer goes to the writer thread, and buffers in the ring. */
const BUFFER_BYTES = 1 << 20;
const RING = 4;

export interface WrittenPlan {
  digest: string;
  trailer: TrailerRecord;
}

/** True unless no process has this pid (a live one that reused it keeps its file: no guess). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temp files (`.FILE.tmp-PID`, regular files) that plans of FILE killed before
 * their rename left: their process is gone, and no one else writes that name.
 */
export function removeStaleTemps(file: string): void {
  const dir = fsPath(dirname(file));
  const prefix = bytesOfText(`.${basename(file)}.tmp-`);
  let names: Buffer[];
  try {
    names = readdirSync(dir, { encoding: 'buffer' });
  } catch {
    return; // the plan's own open reports it
  }
  for (const name of names) {
    if (name.length <= prefix.length || !name.subarray(0, prefix.length).equals(prefix)) continue;
    const pid = name.subarray(prefix.length).toString('latin1');
    if (!/^[0-9]+$/.test(pid) || Number(pid) === process.pid || alive(Number(pid))) continue;
    const path = joinPath(typeof dir === 'string' ? Buffer.from(dir) : dir, name);
    try {
      if (lstatSync(path).isFile()) unlinkSync(path);
    } catch {
      /* gone meanwhile */
    }
  }
}

export class PlanWriter implements PlanSink {
  private fd: number;
  private tmp: string;
  /** The ring: the writer thread may be reading any buffer but `buf` (the one being filled). */
  private ring = Array.from({ length: RING }, () => Buffer.allocUnsafe(BUFFER_BYTES));
  private at = 0;
  private buf = this.ring[0];
  private used = 0;
  private thread: PlanWriteHandle;
  private closed = false;
  private encoder = new LinkEncoder();

  constructor(private file: string, header: HeaderRecord) {
    this.tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
    removeStaleTemps(file);
    try {
      this.fd = openSync(fsPath(this.tmp), 'wx', 0o644);
    } catch (err) {
      throw new HashifyError('IO', `Cannot create the plan file ${displayPath(this.tmp)}: ${(err as Error).message}`, { cause: err });
    }
    try {
      this.thread = linux().planWriteOpen(this.fd);
    } catch (err) {
      this.abort();
      throw err;
    }
    this.writeJson(header);
  }

  /**
   * A store record (the planner's sink). Records are not validated here (that costs a fifth
   * of the write time); every reader validates, and the tests read back every plan they make.
   */
  store(rec: StoreRecord): void {
    this.writeJson(rec);
  }

  /**
   * The link line of every path of `inode`, encoded from the inode's bytes: no record object
   * (and no closure) per path. A line that does not fit an empty buffer is written from its record.
   */
  links(first: number, group: number, inode: PlanInode, integrity: string, target: TargetRecord): void {
    const enc = this.encoder;
    for (let k = 0; k < inode.pathCount; k++) {
      let n = enc.encodePath(first + k, group, inode, k, integrity, target, this.buf, this.used);
      if (n < 0) {
        this.flush();
        n = enc.encodePath(first + k, group, inode, k, integrity, target, this.buf, this.used);
      }
      if (n >= 0) this.used += n;
      else this.writeJson(linkRecord(first + k, group, inode.path(k), inode, integrity, target));
    }
  }

  /** A record as JSON.stringify writes it (every record but most link lines). */
  private writeJson(rec: HeaderRecord | BodyRecord): void {
    const line = JSON.stringify(rec) + '\n';
    // UTF-8 takes at most three bytes per UTF-16 unit.
    if (this.used + line.length * 3 > this.buf.length) this.flush();
    if (line.length * 3 > this.buf.length) this.put(Buffer.from(line, 'utf8'));
    else this.used += this.buf.write(line, this.used);
  }

  /** Hands the filled buffer to the writer thread and moves on to the next one of the ring (waiting until it is written). */
  private flush(): void {
    if (this.used === 0) return;
    this.queue(this.buf, this.used, RING - 1);
    this.at = (this.at + 1) % RING;
    this.buf = this.ring[this.at];
    this.used = 0;
  }

  /** Writes and hashes bytes that follow everything written so far, before returning (`bytes` is not the ring's). */
  private put(bytes: Buffer): void {
    this.flush();
    this.queue(bytes, bytes.length, 0);
  }

  /** Queues bytes for the writer thread; its first write error (ENOSPC, EIO) stops the plan. */
  private queue(bytes: Buffer, length: number, maxInFlight: number): void {
    try {
      linux().planWritePut(this.thread, bytes, length, maxInFlight);
    } catch (err) {
      throw this.failed(err);
    }
  }

  private failed(err: unknown): HashifyError {
    return new HashifyError('IO', `Cannot write the plan file ${displayPath(this.file)}: ${(err as Error).message}`, { cause: err });
  }

  /** Writes the trailer, makes the file durable and renames it into place; returns the plan digest. */
  finish(totals: Omit<TrailerRecord, 'type' | 'linesIntegrity'>): WrittenPlan {
    const addon = linux();
    let whole: Buffer;
    let trailer: TrailerRecord;
    try {
      this.flush();
      trailer = { type: 'trailer', ...totals, linesIntegrity: integrityOf('sha256', addon.planWriteDigest(this.thread)) };
      this.put(Buffer.from(trailerJson(trailer) + '\n', 'utf8'));
      whole = addon.planWriteDigest(this.thread);
      addon.planWriteClose(this.thread);
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.closed = true;
      renameSync(fsPath(this.tmp), fsPath(this.file));
      fsyncDir(fsPath(dirname(this.file)));
    } catch (err) {
      this.abort();
      throw err instanceof HashifyError ? err : this.failed(err);
    }
    return { digest: integrityOf('sha256', whole), trailer };
  }

  /** Removes the temp file (after an error or an interrupt). */
  abort(): void {
    try {
      if (this.thread) linux().planWriteClose(this.thread);
    } catch {
      /* closed already */
    }
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.closed = true;
    }
    try {
      unlinkSync(fsPath(this.tmp));
    } catch {
      /* never created or already gone */
    }
  }
}
