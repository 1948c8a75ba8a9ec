/**
 * The apply (or undo) journal: an append-only log bound to one plan digest. Records are
 * kept in memory and written at checkpoints, after the directories they describe were
 * made durable, so the journal never claims more than the filesystem holds; whatever
 * happened after the last checkpoint is re-checked against the filesystem on resume.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { displayPath, fsPath } from '../pathBytes.js';
import { decodeFrames, encodeFrame } from './frame.js';

export const JOURNAL_VERSION = 1;

export type JournalKind = 'apply' | 'undo';

export type JournalRecord =
  | { t: 'header'; v: number; kind: JournalKind; plan: string }
  | { t: 'run'; at: string; pid: number }
  | { t: 'done'; op: number; how: 'applied' | 'already' | 'retarget' }
  /** The target of `group` was full (EMLINK): from `op` on it is the inode at `path`. */
  | { t: 'retarget'; group: number; op: number; path: Uint8Array }
  /** The store entry a group's apply made (or found made): its identity, for undo. */
  | { t: 'entry'; group: number; dev: string; ino: string }
  | { t: 'skip'; op: number; why: string }
  | { t: 'fail'; op: number; code: string; why: string }
  | { t: 'end' };

/** An operation's status in the journal's state (0: not finished yet). */
export const OP_DONE = 1;
export const OP_SKIPPED = 2;
export const OP_FAILED = 3;

/** What a journal says about each operation (the last record about an op wins). */
export interface JournalState {
  status: Uint8Array;
  reasons: Map<number, string>;
  /** Groups whose target moved to a new inode after EMLINK, and where. */
  retargets: Map<number, { op: number; path: Buffer }>;
  /** Store entries made by apply, by group. */
  entries: Map<number, { dev: string; ino: string }>;
  exists: boolean;
  runs: number;
}

function foreign(file: string, why: string): HashifyError {
  return new HashifyError('JOURNAL_FOREIGN', `Journal ${displayPath(file)} ${why}`, {
    hint: 'each plan has its own journal; pass --journal to name another file, or remove it if it belongs to nothing',
  });
}

/** Reads a journal; a missing file is an empty state. Validates its binding to the plan. */
export function readJournal(file: string, planDigest: string, kind: JournalKind, ops: number): JournalState & { valid: number } {
  const state = { status: new Uint8Array(ops), reasons: new Map<number, string>(), retargets: new Map<number, { op: number; path: Buffer }>(), entries: new Map<number, { dev: string; ino: string }>(), exists: false, runs: 0, valid: 0 };
  let buf: Buffer;
  try {
    buf = readFileSync(fsPath(file));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return state;
    throw new HashifyError('IO', `Cannot read journal ${displayPath(file)}: ${(err as Error).message}`);
  }
  state.exists = true;
  const { records, valid } = decodeFrames(buf);
  state.valid = valid;
  if (buf.length > 0 && records.length === 0) {
    throw foreign(file, 'is not a hashify journal');
  }
  if (records.length === 0) return state;
  const head = records[0] as JournalRecord;
  if (head.t !== 'header' || head.v !== JOURNAL_VERSION) throw foreign(file, 'is not a hashify journal of a known version');
  if (head.kind !== kind) throw foreign(file, `is the journal of an ${head.kind}, not of an ${kind}`);
  if (head.plan !== planDigest) throw foreign(file, `belongs to plan ${head.plan}, not to this plan (${planDigest})`);
  for (const r of records.slice(1) as JournalRecord[]) {
    if (r.t === 'run') state.runs++;
    if (r.t === 'retarget' && Number.isInteger(r.op) && r.op >= 0 && r.op < ops && r.path instanceof Uint8Array) {
      state.retargets.set(r.group, { op: r.op, path: Buffer.from(r.path) });
    }
    if (r.t === 'entry' && typeof r.dev === 'string' && typeof r.ino === 'string') state.entries.set(r.group, { dev: r.dev, ino: r.ino });
    if (r.t !== 'done' && r.t !== 'skip' && r.t !== 'fail') continue;
    if (!Number.isInteger(r.op) || r.op < 0 || r.op >= ops) throw foreign(file, `names operation ${r.op}, which this plan does not have`);
    state.status[r.op] = r.t === 'done' ? OP_DONE : r.t === 'skip' ? OP_SKIPPED : OP_FAILED;
    if (r.t === 'skip' || r.t === 'fail') state.reasons.set(r.op, r.why);
    else state.reasons.delete(r.op);
  }
  return state;
}

/** Appends records at checkpoints. Opening cuts off a torn tail first. */
export class JournalWriter {
  private fd: number;
  private pending: Buffer[] = [];

  constructor(readonly file: string, planDigest: string, kind: JournalKind, validLength: number, exists: boolean) {
    try {
      this.fd = openSync(fsPath(file), exists ? 'r+' : 'wx', 0o644);
    } catch (err) {
      throw new HashifyError('IO', `Cannot open journal ${displayPath(file)}: ${(err as Error).message}`);
    }
    if (exists) ftruncateSync(this.fd, validLength);
    this.position = exists ? validLength : 0;
    if (validLength === 0) {
      this.append({ t: 'header', v: JOURNAL_VERSION, kind, plan: planDigest });
      this.checkpoint();
    }
  }

  private position: number;

  append(record: JournalRecord): void {
    this.pending.push(encodeFrame(record));
  }

  /** Writes what is pending and makes it durable. */
  checkpoint(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off, this.position + off);
      fsyncSync(this.fd);
    } catch (err) {
      // ENOSPC, EROFS, EIO…: name the journal. A partly written frame is a torn tail that the
      // next run cuts off; what it described is re-checked against the filesystem.
      throw new HashifyError('IO', `Cannot write journal ${displayPath(this.file)}: ${(err as Error).message}`, {
        hint: 'fix the cause (free space, a writable filesystem), then run the same command again: it resumes',
        cause: err,
      });
    }
    this.position += data.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
