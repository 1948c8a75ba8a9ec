/**
 * Where output goes: the `--json` result on stdout, human text and progress on stderr.
 * Progress redraws one line, only when asked or when stderr is a terminal.
 */
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
    this.progressOn = opts.progress ?? Boolean(process.stderr.isTTY);
  }

  /** A line for the human reader (stderr), unless --quiet. */
  info(text: string): void {
    if (this.opts.quiet) return;
    this.clearProgress();
    process.stderr.write(text + '\n');
  }

  /** A warning: shown even with --quiet. */
  warn(text: string): void {
    this.clearProgress();
    process.stderr.write(`hashify: warning: ${text}\n`);
  }

  /** Redraws the progress line, at most ten times a second. */
  progress(text: string, force = false): void {
    if (!this.progressOn) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    process.stderr.write(`\r\x1b[K${text}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (this.progressShown) {
      process.stderr.write('\r\x1b[K');
      this.progressShown = false;
    }
  }

  /** The machine-readable result (stdout) with --json; human text otherwise. */
  result(json: object, human: () => string[]): void {
    this.clearProgress();
    if (this.opts.json) process.stdout.write(JSON.stringify(json) + '\n');
    else if (!this.opts.quiet) for (const line of human()) process.stdout.write(line + '\n');
  }
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
