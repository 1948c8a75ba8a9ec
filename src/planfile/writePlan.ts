/**
 * Streams plan records into FILE atomically: lines go to a temp file beside FILE, the
 * trailer carries the totals and the integrity of every line before it, then fsync and
 * rename. A crash leaves either no plan or the previous one, never half a plan.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { dirname, basename, join } from 'node:path';
import { HashifyError } from '../errors.js';
import { trailerJson, type BodyRecord, type HeaderRecord, type TrailerRecord } from './records.js';
import { LinkEncoder } from './linkEncoder.js';
import { fsyncDir } from '../fsyncDir.js';
import { integrityOf } from '../integrity.js';

/** Bytes gathered before a write(2). */
const BUFFER_BYTES = 1 << 20;

export interface WrittenPlan {
  digest: string;
  trailer: TrailerRecord;
}

export class PlanWriter {
  private fd: number;
  private tmp: string;
  private buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private lines: Hash = createHash('sha256');
  private closed = false;
  private links = new LinkEncoder();

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
    if (rec.type === 'link') {
      let n = this.links.encode(rec, this.buf, this.used);
      if (n < 0) {
        this.flush();
        n = this.links.encode(rec, this.buf, this.used);
      }
      if (n >= 0) {
        this.used += n;
        return;
      }
    }
    // Other records, and a link line longer than the whole buffer.
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
