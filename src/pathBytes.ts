/**
 * File names on Linux are bytes. Paths travel through hashify as Buffers and are shown
 * or serialised as strings only at the edges; a name that is not valid UTF-8 keeps its
 * exact bytes in a base64 field next to a readable (lossy) string.
 */
import { isUtf8 as nodeIsUtf8 } from 'node:buffer';

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
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len > 1 && i + len <= b.length && nodeIsUtf8(b.subarray(i, i + len))) {
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
