/**
 * The usual command lines of `clone` and `switch`, read without yargs: the command first, its
 * two operands, the global flags (--json, --quiet/-q, --progress) and clone's --store. Loading
 * yargs costs about 0.12 s of CPU at every start (some 45 modules; string-width builds an
 * Intl.Segmenter), as much as the clone of a Debian guest itself, and these two commands are
 * the ones whose work is that short.
 *
 * Every other command line gets undefined and goes through yargs, which gives every message:
 * another command, --help, --version, an option not listed above, one given twice, a
 * `--no-` option, a flag followed by `true` or `false`, `--`, an operand that is empty or
 * starts with `-`, too few or too many operands. test/cli/fastArgs.test.ts checks that yargs reads every line read here the same.
 */
import type { CloneArgs } from './clone.js';
import type { GlobalOptions } from './output.js';
import type { SwitchArgs } from './switch.js';
import { parseOne } from './validate.js';

/** What yargs hands a handler besides the options: the command and the program's name. */
interface Parsed {
  _: string[];
  $0: string;
}

export type FastArgs = { command: 'clone'; argv: CloneArgs & Parsed } | { command: 'switch'; argv: SwitchArgs & Parsed };

const FLAGS: Record<string, keyof GlobalOptions> = { '--json': 'json', '--quiet': 'quiet', '-q': 'quiet', '--progress': 'progress' };

/** `args` without the program (process.argv.slice(2)); undefined: yargs reads them. */
export function fastArgs(args: string[]): FastArgs | undefined {
  const [command, ...rest] = args;
  if (command !== 'clone' && command !== 'switch') return undefined;
  const flags: GlobalOptions = {};
  let store: string | undefined;
  const operands: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i];
    const flag = Object.hasOwn(FLAGS, token) ? FLAGS[token] : undefined;
    if (flag) {
      // yargs takes a `true` or `false` after a flag as its value, not as an operand
      if (flags[flag] !== undefined || rest[i + 1] === 'true' || rest[i + 1] === 'false') return undefined;
      flags[flag] = true;
    } else if (command === 'clone' && (token === '--store' || token.startsWith('--store='))) {
      const value = token === '--store' ? rest[++i] : token.slice('--store='.length);
      if (store !== undefined || value === undefined || value === '' || value.startsWith('-')) return undefined;
      store = parseOne('--store', value);
    } else if (token === '' || token.startsWith('-')) {
      return undefined;
    } else {
      operands.push(token);
    }
  }
  if (operands.length !== 2) return undefined;
  const [one, two] = operands;
  const parsed = { _: [command], $0: 'hashify', ...flags };
  return command === 'clone' ? { command, argv: { ...parsed, src: one, dst: two, store } } : { command, argv: { ...parsed, a: one, b: two } };
}
