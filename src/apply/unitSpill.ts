/**
 * An append-only store of byte records, read back once in order: kept in memory up to a
 * bound, beyond it written to an unlinked file of its own, so that a plan of any size is
 * compiled (src/apply/compileSteps.ts) in bounded memory. The file has no name from the moment
 * it exists: only this process reaches it.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHUNK = 1 << 20;
/** Bytes kept in memory before the file is used. */
const MEMORY = 64 << 20;

export class UnitSpill {
  constructor(private readonly bound = MEMORY) {}

  private chunks: Buffer[] = [];
  private memory = 0;
  private current = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  private fd = -1;
  /** Bytes written to the file, in chunks of these lengths. */
  private written: number[] = [];

  /** Room for a record of `size` bytes: its buffer and the offset to write it at. */
  reserve(size: number): { buf: Buffer; at: number } {
    if (this.used + size > this.current.length) {
      this.seal();
      this.current = Buffer.allocUnsafe(Math.max(CHUNK, size));
    }
    const at = this.used;
    this.used += size;
    return { buf: this.current, at };
  }

  private seal(): void {
    if (!this.used) return;
    const chunk = this.current.subarray(0, this.used);
    this.used = 0;
    if (this.fd < 0 && this.memory + chunk.length <= this.bound) {
      this.chunks.push(chunk);
      this.memory += chunk.length;
      return;
    }
    if (this.fd < 0) {
      const dir = mkdtempSync(join(tmpdir(), 'hashify-steps-'));
      const file = join(dir, 'steps');
      this.fd = openSync(file, 'wx+', 0o600);
      unlinkSync(file);
      rmdirSync(dir);
    }
    for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off, chunk.length - off);
    this.written.push(chunk.length);
  }

  /** The chunks in order (each record whole in one chunk); the spill is spent afterwards. */
  *read(): Generator<Buffer> {
    this.seal();
    yield* this.chunks;
    this.chunks = [];
    let pos = 0;
    for (const len of this.written) {
      const b = Buffer.allocUnsafe(len);
      for (let got = 0; got < len; ) {
        const n = readSync(this.fd, b, got, len - got, pos + got);
        if (n === 0) throw new Error('the compiled steps file is shorter than written');
        got += n;
      }
      pos += len;
      yield b;
    }
    this.close();
  }

  /** Bytes kept in memory, and bytes written to the file (sealed records only). */
  usage(): { memory: number; file: number } {
    return { memory: this.memory, file: this.written.reduce((a, b) => a + b, 0) };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
