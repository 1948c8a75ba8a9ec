/**
 * Streams plan records into FILE atomically: lines go to a temp file beside FILE, the
 * trailer carries the totals and the integrity of every line before it, then fsync and
 * rename. A crash leaves either no plan or the previous one, never half a plan.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { dirname, basename, join } from 'node:path';
import { HashifyError } from '../errors.js';
import { trailerJson, type BodyRecord, type HeaderRecord, type LinkRecord, type TrailerRecord } from './records.js';
import { fsyncDir } from '../fsyncDir.js';
import { integrityOf } from '../integrity.js';

const FLUSH_AT = 1 << 20;

export interface WrittenPlan {
  digest: string;
  trailer: TrailerRecord;
}

export class PlanWriter {
  private fd: number;
  private tmp: string;
  private chunks: string[] = [];
  private pending = 0;
  private lines: Hash = createHash('sha256');
  private closed = false;
  private lastTarget?: object;
  private lastTargetJson = '';

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
    const line = (rec.type === 'link' ? this.linkJson(rec) : JSON.stringify(rec)) + '\n';
    this.chunks.push(line);
    this.pending += line.length;
    if (this.pending >= FLUSH_AT) this.flush();
  }

  /**
   * JSON.stringify(rec) for a link record, with the target (the same object for a whole
   * group, and the largest part of the line) serialised once per group.
   */
  private linkJson(rec: LinkRecord): string {
    if (rec.target !== this.lastTarget) {
      this.lastTarget = rec.target;
      this.lastTargetJson = JSON.stringify(rec.target);
    }
    const { target, ...rest } = rec;
    const head = JSON.stringify(rest);
    return `${head.slice(0, -1)},"target":${this.lastTargetJson}}`;
  }

  private flush(): void {
    if (this.chunks.length === 0) return;
    const buf = Buffer.from(this.chunks.join(''), 'utf8');
    this.chunks = [];
    this.pending = 0;
    this.lines.update(buf);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
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
