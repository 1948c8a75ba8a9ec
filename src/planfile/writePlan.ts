/**
 * Streams plan records into FILE atomically: lines go to a temp file beside FILE, the
 * trailer carries the totals and the integrity of every line before it, then fsync and
 * rename. A crash leaves either no plan or the previous one, never half a plan.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { dirname, basename, join } from 'node:path';
import { HashifyError } from '../errors.js';
import { trailerJson, type BodyRecord, type HeaderRecord, type StoreRecord, type TargetRecord, type TrailerRecord } from './records.js';
import { linkRecord, type PlanInode, type PlanSink } from '../plan/assemblePlan.js';
import { LinkEncoder } from './linkEncoder.js';
import { fsyncDir } from '../fsyncDir.js';
import { integrityOf } from '../integrity.js';

/** Bytes gathered before a write(2). */
const BUFFER_BYTES = 1 << 20;

export interface WrittenPlan {
  digest: string;
  trailer: TrailerRecord;
}

export class PlanWriter implements PlanSink {
  private fd: number;
  private tmp: string;
  private buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private lines: Hash = createHash('sha256');
  private closed = false;
  private encoder = new LinkEncoder();

  constructor(private file: string, header: HeaderRecord) {
    this.tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
    try {
      this.fd = openSync(this.tmp, 'wx', 0o644);
    } catch (err) {
      throw new HashifyError('IO', `Cannot create the plan file ${JSON.stringify(this.tmp)}: ${(err as Error).message}`, { cause: err });
    }
    this.write(header);
  }

  /**
   * Appends one record. Not validated here (that costs a fifth of the write time); every
   * reader validates, and the tests read back every plan they make.
   */
  write(rec: HeaderRecord | BodyRecord): void {
    if (rec.type === 'link' && this.encoded((buf, at) => this.encoder.encode(rec, buf, at))) return;
    this.writeJson(rec);
  }

  /** A store record (the planner's sink). */
  store(rec: StoreRecord): void {
    this.writeJson(rec);
  }

  /** The link line of every path of `inode`, encoded from the path's bytes: no record object per path. */
  links(first: number, group: number, inode: PlanInode, integrity: string, target: TargetRecord): void {
    const { stat, xattrs, paths } = inode;
    for (let k = 0; k < paths.length; k++) {
      const p = paths[k];
      if (!this.encoded((buf, at) => this.encoder.encodePath(first + k, group, p, stat, integrity, target, xattrs, buf, at))) {
        this.writeJson(linkRecord(first + k, group, p, inode, integrity, target));
      }
    }
  }

  /** Runs an encoder into the buffer, flushing it first when full; false when the line is longer than the buffer. */
  private encoded(encode: (buf: Buffer, at: number) => number): boolean {
    let n = encode(this.buf, this.used);
    if (n < 0) {
      this.flush();
      n = encode(this.buf, this.used);
    }
    if (n < 0) return false;
    this.used += n;
    return true;
  }

  /** A record as JSON.stringify writes it (every record but most link lines). */
  private writeJson(rec: HeaderRecord | BodyRecord): void {
    const line = JSON.stringify(rec) + '\n';
    // UTF-8 takes at most three bytes per UTF-16 unit.
    if (this.used + line.length * 3 > this.buf.length) this.flush();
    if (line.length * 3 > this.buf.length) this.put(Buffer.from(line, 'utf8'));
    else this.used += this.buf.write(line, this.used);
  }

  private flush(): void {
    if (this.used === 0) return;
    const bytes = this.buf.subarray(0, this.used);
    this.used = 0;
    this.put(bytes);
  }

  /** Hashes and writes bytes that follow everything written so far. */
  private put(bytes: Buffer): void {
    this.lines.update(bytes);
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }

  /** Writes the trailer, makes the file durable and renames it into place; returns the plan digest. */
  finish(totals: Omit<TrailerRecord, 'type' | 'linesIntegrity'>): WrittenPlan {
    this.flush();
    const whole = this.lines.copy();
    const trailer: TrailerRecord = {
      type: 'trailer',
      ...totals,
      linesIntegrity: integrityOf('sha256', this.lines.digest()),
    };
    const line = Buffer.from(trailerJson(trailer) + '\n', 'utf8');
    whole.update(line);
    try {
      let off = 0;
      while (off < line.length) off += writeSync(this.fd, line, off, line.length - off);
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.closed = true;
      renameSync(this.tmp, this.file);
      fsyncDir(dirname(this.file));
    } catch (err) {
      this.abort();
      throw new HashifyError('IO', `Cannot write the plan file ${JSON.stringify(this.file)}: ${(err as Error).message}`, { cause: err });
    }
    return { digest: integrityOf('sha256', whole.digest()), trailer };
  }

  /** Removes the temp file (after an error or an interrupt). */
  abort(): void {
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.closed = true;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      /* never created or already gone */
    }
  }
}
