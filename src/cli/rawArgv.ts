/**
 * The command line as the user typed it. Node decodes argv as UTF-8 and puts U+FFFD for every
 * byte that is not part of valid UTF-8, so a path such as `$'\xfe'a` reaches process.argv as
 * "\ufffda" and names no file. The kernel keeps the exact bytes in /proc/self/cmdline: an
 * argument that holds U+FFFD is read again from there, into the lossless string form of
 * src/pathBytes.ts (textOfBytes), which every reader of the command line passes through
 * unchanged and every path operand then turns back into the bytes (fsPath, absoluteBytes).
 * A command line without U+FFFD (the usual one) costs nothing.
 */
import { readFileSync } from 'node:fs';
import { textOfBytes } from '../pathBytes.js';

/** /proc/self/cmdline: every argument of the process (node's own first), NUL-terminated each. */
function cmdline(): Buffer[] {
  const bytes = readFileSync('/proc/self/cmdline');
  const args: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = bytes.indexOf(0, start);
    args.push(bytes.subarray(start, end < 0 ? bytes.length : end));
    start = end < 0 ? bytes.length : end + 1;
  }
  return args;
}

/**
 * process.argv.slice(2) with each argument that holds U+FFFD given as its exact bytes. They
 * are the last arguments of /proc/self/cmdline (node's options before them differ from
 * process.execArgv, NODE_OPTIONS is not there at all); each must decode to its process.argv
 * twin, or (a process title written over the arguments, no /proc) process.argv stays as it is.
 */
export function rawArgv(argv: readonly string[] = process.argv): string[] {
  const args = argv.slice(2);
  if (!args.some((a) => a.includes('\ufffd'))) return args;
  let raw: Buffer[];
  try {
    raw = cmdline().slice(-args.length);
  } catch {
    return args;
  }
  if (raw.length !== args.length || raw.some((b, i) => b.toString('utf8') !== args[i])) return args;
  return args.map((a, i) => (a.includes('\ufffd') ? textOfBytes(raw[i]) : a));
}
