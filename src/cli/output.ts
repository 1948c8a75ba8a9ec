/**
 * Where output goes: the `--json` result on stdout, human text and progress on stderr.
 * Progress redraws one line, only when asked or when stderr is a terminal, and never with
 * --quiet (SPEC: "--quiet also silences progress", also when --progress is given). A reader that goes away (`hashify show P | head`)
 * ends the output quietly: see guardStreams.
 */
import { errnoCode } from '../errors.js';

export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
}

export class Output {
  private progressShown = false;
  private lastDraw = 0;
  readonly progressOn: boolean;

  constructor(private opts: GlobalOptions) {
    this.progressOn = !opts.quiet && (opts.progress ?? Boolean(process.stderr.isTTY));
  }

  /** Writes to stdout unless its reader has gone. */
  stdout(text: string): void {
    if (!closed.has(process.stdout)) process.stdout.write(text);
  }

  /**
   * An error as the result: with --json, `{ "error": { "code", "message", "hint"? } }` on
   * stdout (a script reading stdout always gets JSON); the message goes to stderr too.
   */
  error(code: string, message: string, hint?: string): void {
    this.clearProgress();
    stderr(`hashify: ${message}\n${hint ? `hint: ${hint}\n` : ''}`);
    if (this.opts.json) this.stdout(JSON.stringify({ error: { code, message, ...(hint ? { hint } : {}) } }) + '\n');
  }

  /** A line for the human reader (stderr), unless --quiet. */
  info(text: string): void {
    if (this.opts.quiet) return;
    this.clearProgress();
    stderr(text + '\n');
  }

  /** A warning: shown even with --quiet. */
  warn(text: string): void {
    this.clearProgress();
    stderr(`hashify: warning: ${text}\n`);
  }

  /** Redraws the progress line, at most ten times a second. */
  progress(text: string, force = false): void {
    if (!this.progressOn) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    stderr(`\r\x1b[K${text}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (this.progressShown) {
      stderr('\r\x1b[K');
      this.progressShown = false;
    }
  }

  /** The machine-readable result (stdout) with --json; human text otherwise. */
  result(json: object, human: () => Iterable<string>): void {
    this.clearProgress();
    if (this.opts.json) this.stdout(JSON.stringify(json) + '\n');
    else if (!this.opts.quiet) this.lines(human());
  }

  /**
   * A result with long lists (a plan's operations), written as they are produced so that
   * memory stays bounded: with --json, `json` followed by each list of `lists` as a key of
   * the same object; otherwise the human lines. Stops early once stdout's reader has gone.
   */
  resultStreamed(json: object, lists: Record<string, () => Iterable<unknown>>, human: () => Iterable<string>): void {
    this.clearProgress();
    if (!this.opts.json) {
      if (!this.opts.quiet) this.lines(human());
      return;
    }
    const head = JSON.stringify(json);
    this.lines(
      (function* () {
        let text = head.slice(0, -1);
        for (const [key, list] of Object.entries(lists)) {
          text += `${text.endsWith('{') ? '' : ','}${JSON.stringify(key)}:[`;
          let first = true;
          for (const item of list()) {
            yield text + (first ? '' : ',') + JSON.stringify(item);
            text = '';
            first = false;
            if (stdoutClosed()) return;
          }
          text += ']';
        }
        yield text + '}\n';
      })(),
      '',
    );
  }

  /** Writes lines to stdout in chunks of about 64 KiB; stops once the reader has gone. */
  private lines(source: Iterable<string>, end = '\n'): void {
    let chunk = '';
    for (const line of source) {
      chunk += line + end;
      if (chunk.length >= 65536) {
        this.stdout(chunk);
        chunk = '';
        if (stdoutClosed()) return;
      }
    }
    this.stdout(chunk);
  }
}

/** Streams whose reader has gone (EPIPE): nothing more is written to them. */
const closed = new Set<NodeJS.WriteStream>();

function stderr(text: string): void {
  if (!closed.has(process.stderr)) process.stderr.write(text);
}

/**
 * Installs the one handler for a reader that goes away: an EPIPE on stdout or stderr marks
 * the stream closed, later output to it is dropped, and the command runs to its end and
 * exits with its own code (no stack trace, and never a stop in the middle of a change).
 * Commands that print through process.stdout directly are covered too: their writes after
 * the EPIPE fail into this handler.
 */
export function guardStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (errnoCode(err) === 'EPIPE' || errnoCode(err) === 'ERR_STREAM_DESTROYED') {
        closed.add(stream);
        return;
      }
      closed.add(stream);
      if (stream !== process.stderr) stderr(`hashify: cannot write the output: ${err.message}\n`);
      process.exitCode = 1;
    });
  }
}

/** True once the reader of stdout has gone (a long listing may stop early). */
export function stdoutClosed(): boolean {
  return closed.has(process.stdout);
}

/** "1/4 files, 1.0 GiB of 4.0 GiB (25%), 100.0 MiB/s, ETA 30.0s" for a job with known totals. */
export function formatProgress(what: string, files: number, totalFiles: number, bytes: number, totalBytes: number, seconds: number): string {
  const rate = seconds > 0 ? bytes / seconds : 0;
  const pct = totalBytes > 0 ? Math.min(99, Math.floor((bytes / totalBytes) * 100)) : 0;
  const eta = rate > 0 ? Math.max(0, totalBytes - bytes) / rate : NaN;
  return `${what}: ${files}/${totalFiles} files, ${formatBytes(bytes)} of ${formatBytes(totalBytes)} (${pct}%), ${formatBytes(rate)}/s, ETA ${formatSeconds(eta)}`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number | bigint): string {
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** Seconds as "3.2s" or "1m05s". */
export function formatSeconds(s: number): string {
  if (!isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}
