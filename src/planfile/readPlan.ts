/**
 * Reads a plan in bounded memory. `openPlan` validates the whole file (JSON, schema, rules,
 * trailer, digest, `--expect`) and remembers a digest per chunk; `records()` then reads the
 * same descriptor again and refuses any chunk whose bytes differ from what was validated,
 * so a plan rewritten between review and execution is never acted on.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { HashifyError, errnoCode } from '../errors.js';
import { schemaError } from './schema.js';
import { displayPath, fsPath, isUtf8 } from '../pathBytes.js';
import { PlanChecker, PlanRuleError, type PlanTotals } from './checkPlan.js';
import { trailerJson, type HeaderRecord, type PlanRecord, type TrailerRecord } from './records.js';
import { integrityOf } from '../integrity.js';

const CHUNK = 1 << 20;
const MAX_LINE = 1 << 24;

export interface OpenPlan {
  file: string;
  digest: string;
  header: HeaderRecord;
  trailer: TrailerRecord;
  totals: PlanTotals;
  /** Yields every record again, in order, checked against the validated bytes. */
  records(): Generator<PlanRecord>;
  close(): void;
}

function invalid(file: string, line: number, message: string): HashifyError {
  return new HashifyError('PLAN_INVALID', `Plan ${displayPath(file)} is invalid at line ${line}: ${message}`, {
    hint: 'make a new plan with `hashify plan`; a plan must not be edited by hand',
  });
}

/** How the trailer's line begins (trailerJson: its key order is fixed). */
const TRAILER_START = '{"type":"trailer"';

/**
 * Splits the chunks of a descriptor into lines; calls onChunk with each chunk's bytes first.
 * `linesHash`, when given, is fed every complete line (in runs, not line by line), and has
 * been fed every line before a line that begins as the trailer does when that line is yielded.
 * Once the lines are all yielded without a last one that lacks its newline, it has been fed
 * the whole file, in order: its digest is then the file's.
 */
function* lines(fd: number, onChunk: (index: number, bytes: Buffer) => void, linesHash?: Hash): Generator<{ text: string; line: number }> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let carry: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  let pos = 0;
  let index = 0;
  let line = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, pos);
    if (n === 0) break;
    pos += n;
    const chunk = buf.subarray(0, n);
    onChunk(index++, chunk);
    let data: Buffer<ArrayBufferLike> = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    let hashed = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      line++;
      // The trailer's integrity is checked over the decoded text: bytes that are not UTF-8
      // would decode to U+FFFD like the different bytes of another file. Bytes that are not
      // UTF-8 always decode with a U+FFFD, so only a line with one is checked byte by byte.
      const text = data.toString('utf8', start, nl);
      if (text.includes('\uFFFD') && !isUtf8(data.subarray(start, nl))) throw new PlanRuleError(line, 'the line is not valid UTF-8');
      if (linesHash && text.startsWith(TRAILER_START)) {
        linesHash.update(data.subarray(hashed, start));
        hashed = start;
      }
      yield { text, line };
      start = nl + 1;
    }
    linesHash?.update(data.subarray(hashed, start));
    carry = Buffer.from(data.subarray(start));
    if (carry.length > MAX_LINE) throw new PlanRuleError(line + 1, 'a line is longer than 16 MiB');
    data = carry;
  }
  if (carry.length) {
    line++;
    yield { text: carry.toString('utf8'), line: -line };
  }
}

function parse(text: string, line: number): PlanRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PlanRuleError(line, 'not valid JSON');
  }
  const problem = schemaError(value);
  if (problem) throw new PlanRuleError(line, problem);
  return value as PlanRecord;
}

/**
 * Opens and fully validates a plan. Throws HashifyError (exit 2) for any defect. `onRecord`
 * sees each record once it passed its checks, in order, with the checked bytes of its own
 * `path` (store and link records; apply compiles its steps from them):
 * what it builds must not be acted on before openPlan returned, since a later line may still
 * make the whole plan invalid.
 */
export function openPlan(file: string, options: { expect?: string; onRecord?: (rec: PlanRecord, path: Buffer | undefined) => void } = {}): OpenPlan {
  let fd: number;
  try {
    fd = openSync(fsPath(file), 'r');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') throw new HashifyError('PLAN_MISSING', `Plan ${displayPath(file)} does not exist`);
    throw new HashifyError('PLAN_MISSING', `Cannot open plan ${displayPath(file)}: ${(err as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new HashifyError('PLAN_MISSING', `Plan ${displayPath(file)} is not a regular file`);
    const checker = new PlanChecker();
    const linesHash = createHash('sha256');
    const chunkDigests: string[] = [];
    let beforeTrailer = '';
    try {
      for (const { text, line } of lines(fd, (_i, chunk) => {
        chunkDigests.push(createHash('sha256').update(chunk).digest('base64'));
      }, linesHash)) {
        if (line < 0) throw new PlanRuleError(-line, 'the last line has no newline (truncated?)');
        const rec = parse(text, line);
        if (rec.type === 'trailer') {
          // No integrity covers the trailer's own line: only the form hashify writes is accepted.
          if (trailerJson(rec) !== text) throw new PlanRuleError(line, 'the trailer is not in the form hashify writes (edited?)');
          beforeTrailer = integrityOf('sha256', linesHash.copy().digest());
        }
        checker.add(rec);
        options.onRecord?.(rec, checker.path);
      }
      var totals = checker.finish();
    } catch (err) {
      if (err instanceof PlanRuleError) throw invalid(file, err.line, err.message);
      throw err;
    }
    const trailer = checker.trailer!;
    if (trailer.linesIntegrity !== beforeTrailer) {
      throw invalid(file, totals.ops + totals.storeEntries + 2, 'the trailer integrity does not match the lines before it (edited or corrupted)');
    }
    // Every byte went through linesHash (the last line ended with its newline): the file's digest, without a second pass.
    const digest = integrityOf('sha256', linesHash.digest());
    if (options.expect !== undefined && options.expect !== digest) {
      throw new HashifyError('PLAN_DIGEST_MISMATCH', `Plan ${displayPath(file)} has digest ${digest}, not the expected ${options.expect}`, {
        hint: 'the plan changed since it was approved: review it again with `hashify show`',
      });
    }
    const header = checker.header!;
    return {
      file,
      digest,
      header,
      trailer,
      totals,
      *records() {
        for (const { text, line } of lines(fd, (i, bytes) => {
          if (createHash('sha256').update(bytes).digest('base64') !== chunkDigests[i]) {
            throw new HashifyError('PLAN_INVALID', `Plan ${displayPath(file)} changed while it was being applied`);
          }
        })) {
          // These bytes are the validated ones (chunk digests above): parsing is enough.
          yield JSON.parse(text) as PlanRecord;
        }
      },
      close() {
        closeSync(fd);
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
