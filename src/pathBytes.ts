/**
 * File names on Linux are bytes. Paths travel through hashify as Buffers and are shown
 * or serialised as strings only at the edges; a name that is not valid UTF-8 keeps its
 * exact bytes in a base64 field next to a readable (lossy) string.
 *
 * Paths given on the command line are strings (src/cli/rawArgv.ts), in a lossless form:
 * valid UTF-8 as itself, every other byte B as the lone surrogate U+DC00+B (Python's
 * "surrogateescape"; a decoded command line never holds a lone surrogate). textOfBytes and
 * bytesOfText convert; fsPath gives Node's fs the bytes, and resolveText resolves against
 * the current directory's own bytes.
 */
import { isUtf8 as nodeIsUtf8 } from 'node:buffer';
import { readlinkSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

const SLASH = 0x2f;

/**
 * The longest path a plan holds, in bytes: schemas/plan-record.schema.json's `path` maxLength
 * (`path64`'s is 4 * ceil(PLAN_PATH_MAX / 3)). The scan leaves out a directory below which a
 * path could be longer, so that every plan it writes is one that show and apply accept.
 */
export const PLAN_PATH_MAX = 1 << 20;

/** True when the bytes are valid UTF-8 (and so survive a round trip through a JS string). */
export function isUtf8(bytes: Uint8Array): boolean {
  return bytes.length === 0 || nodeIsUtf8(bytes);
}

/** The length of the valid UTF-8 sequence at `b[i]`, 0 when the byte there starts none. */
function sequenceAt(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  return len && i + len <= b.length && nodeIsUtf8(b.subarray(i, i + len)) ? len : 0;
}

/** A lone surrogate of the escaped range: one byte that is not part of valid UTF-8. */
const ESCAPED = /[\udc80-\udcff]/u;
const ESCAPED_ALL = /[\udc80-\udcff]/gu;

/** The lossless string of a path's bytes (see the module comment); valid UTF-8 is itself. */
export function textOfBytes(b: Buffer): string {
  if (isUtf8(b)) return b.toString('utf8');
  let out = '';
  let start = 0;
  for (let i = 0; i < b.length; ) {
    const len = sequenceAt(b, i);
    if (len) {
      i += len;
      continue;
    }
    out += b.toString('utf8', start, i) + String.fromCharCode(0xdc00 + b[i]);
    start = ++i;
  }
  return out + b.toString('utf8', start);
}

/** The bytes of a path string of textOfBytes' form (a plain string: its UTF-8). */
export function bytesOfText(text: string): Buffer {
  if (!ESCAPED.test(text)) return Buffer.from(text);
  const parts: Buffer[] = [];
  let start = 0;
  for (const m of text.matchAll(ESCAPED_ALL)) {
    parts.push(Buffer.from(text.slice(start, m.index)), Buffer.of(text.charCodeAt(m.index!) - 0xdc00));
    start = m.index! + 1;
  }
  parts.push(Buffer.from(text.slice(start)));
  return Buffer.concat(parts);
}

/**
 * A path string for a JSON result: well-formed UTF-8, each byte that is not UTF-8 as U+FFFD
 * (as every path string hashify printed before; a lone surrogate is refused by strict parsers).
 */
export function jsonText(text: string): string {
  return ESCAPED.test(text) ? bytesOfText(text).toString('utf8') : text;
}

/** A path string as Node's fs must get it: itself, or its bytes when it holds a byte that is not UTF-8. */
export function fsPath(text: string): string | Buffer {
  return ESCAPED.test(text) ? bytesOfText(text) : text;
}

/**
 * The current directory in textOfBytes' form: process.cwd() decodes it lossily (U+FFFD), so a
 * directory whose path is not UTF-8 is read again, as bytes, from /proc/self/cwd.
 */
export function cwdText(): string {
  const cwd = process.cwd();
  if (!cwd.includes('\ufffd')) return cwd;
  try {
    return textOfBytes(readlinkSync('/proc/self/cwd', { encoding: 'buffer' }));
  } catch {
    return cwd; // no /proc: the lossy form, as Node gives it
  }
}

/** path.resolve for textOfBytes' strings: a relative path is resolved against cwdText(). */
export function resolveText(...paths: string[]): string {
  return paths.some((p) => isAbsolute(p)) ? resolve(...paths) : resolve(cwdText(), ...paths);
}

/** The absolute path, as bytes, of a path string given on the command line. */
export function absoluteBytes(text: string): Buffer {
  return bytesOfText(resolveText(text));
}

/**
 * A path string of textOfBytes' form as a shell word for the commands hashify suggests: itself
 * (as before) unless it holds a byte that is not UTF-8; then bash's `$'…'` with `\xHH` for
 * each such byte, so that the suggestion pasted names the same file.
 */
export function shellWord(text: string): string {
  if (!ESCAPED.test(text)) return text;
  return `$'${displayPath(text).slice(1, -1).replace(/'/g, "\\'")}'`;
}

/** The serialised form of a path: `{ path }`, plus `path64` with the exact bytes when not UTF-8. */
export function encodePath(bytes: Buffer): { path: string; path64?: string } {
  if (isUtf8(bytes)) return { path: bytes.toString('utf8') };
  return { path: bytes.toString('utf8'), path64: bytes.toString('base64') };
}

/** The exact bytes of a serialised path; `path64`, when present, must agree with `path`. */
export function decodePath(rec: { path: string; path64?: string }): Buffer {
  if (rec.path64 === undefined) return Buffer.from(rec.path, 'utf8');
  const bytes = Buffer.from(rec.path64, 'base64');
  if (bytes.toString('base64') !== rec.path64) throw new Error('path64 is not canonical base64');
  if (isUtf8(bytes)) throw new Error('path64 is given for a path that is valid UTF-8');
  if (bytes.toString('utf8') !== rec.path) throw new Error('path and path64 name different files');
  return bytes;
}

/**
 * A path (or name) for text output, double-quoted: valid UTF-8 shows as itself; every byte
 * that is not part of valid UTF-8, and every control character, shows as `\xHH`, and `"` and
 * `\` are escaped, so that two different names never print alike (U+FFFD would merge them).
 */
export function displayPath(bytes: Buffer | string): string {
  const b = typeof bytes === 'string' ? bytesOfText(bytes) : bytes;
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const len = sequenceAt(b, i);
    if (len > 1) {
      const ch = b.toString('utf8', i, i + len);
      out += /[\u0080-\u009f\u2028\u2029]/.test(ch) ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
      i += len;
      continue;
    }
    if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
    i++;
  }
  return out + '"';
}

/** `dir + '/' + name` on bytes. */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 1 && dir[0] === SLASH) return Buffer.concat([dir, name]);
  return Buffer.concat([dir, Buffer.from('/'), name]);
}

/** The directory part of an absolute path (`/a/b` → `/a`, `/a` → `/`). */
export function dirnameBytes(p: Buffer): Buffer {
  const i = p.lastIndexOf(SLASH);
  return i <= 0 ? Buffer.from('/') : p.subarray(0, i);
}

/** The last component of a path. */
export function basenameBytes(p: Buffer): Buffer {
  return p.subarray(p.lastIndexOf(SLASH) + 1);
}

/**
 * True for an absolute path in normal form: starts with `/`, no empty, `.` or `..`
 * components, no trailing slash (except `/` itself) and no NUL byte.
 */
export function isNormalAbsolute(p: Buffer): boolean {
  if (p.length === 0 || p[0] !== SLASH || p.includes(0)) return false;
  if (p.length === 1) return true;
  if (p[p.length - 1] === SLASH) return false;
  let start = 1;
  for (let i = 1; i <= p.length; i++) {
    if (i === p.length || p[i] === SLASH) {
      const len = i - start;
      if (len === 0) return false;
      if (len === 1 && p[start] === 0x2e) return false;
      if (len === 2 && p[start] === 0x2e && p[start + 1] === 0x2e) return false;
      start = i + 1;
    }
  }
  return true;
}

/** True when `p` is `root` or lies below it (component-wise, not string prefix). */
export function isWithin(p: Buffer, root: Buffer): boolean {
  if (root.length === 1 && root[0] === SLASH) return p.length > 0 && p[0] === SLASH;
  if (p.length < root.length) return false;
  if (p.compare(root, 0, root.length, 0, root.length) !== 0) return false;
  return p.length === root.length || p[root.length] === SLASH;
}
