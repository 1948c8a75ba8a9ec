/**
 * The growable shared buffers FileTable's columns live in, and fixed-length views over them.
 */
export type Column = BigUint64Array | BigInt64Array | Uint32Array;

/**
 * Columns are growable SharedArrayBuffers. They are read through fixed-length views, made
 * again after each growth: V8 11 (Node 20) reads length-tracking views ~12× slower. Growing
 * happens in place (address space is reserved up front, memory is used as rows arrive), so
 * no column is ever copied and no doubled-then-dropped buffer waits for the collector.
 */
const MAX_ROWS = 2 ** 29; // 536M files: a growable SharedArrayBuffer holds at most 4 GiB
export const MAX_BYTES = 2 ** 32;

export function growable(bytes: number, max: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes, { maxByteLength: max });
}

export function grow(buffer: ArrayBufferLike, bytes: number): void {
  const b = buffer as SharedArrayBuffer;
  // Grow by half again (rounded to whole 8-byte elements), or to what is needed.
  if (b.byteLength < bytes) b.grow(Math.min(b.maxByteLength, Math.max(bytes, Math.ceil((b.byteLength * 1.5) / 8) * 8)));
}

export type ViewCtor = { new (b: ArrayBufferLike, offset: number, length: number): Column | Uint8Array; BYTES_PER_ELEMENT: number };

/** A fixed-length view over all of `buffer` (fast element access, unlike a length-tracking one). */
export function view<T>(Ctor: ViewCtor, buffer: ArrayBufferLike): T {
  return new Ctor(buffer, 0, buffer.byteLength / Ctor.BYTES_PER_ELEMENT) as T;
}

export const big = (rows: number) => growable(rows * 8, MAX_ROWS * 8);
export const small = (rows: number) => growable(rows * 4, MAX_ROWS * 4);

