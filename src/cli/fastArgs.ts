/**
 * The usual command lines of every command, read from the command table (src/cli/commands.ts)
 * without loading yargs: loading it costs about 0.12 s of CPU at every start (some 45
 * modules; string-width builds an Intl.Segmenter), a sixth of a re-plan with nothing to do
 * and as much as the clone of a Debian guest itself.
 *
 * Read here: the command first; its operands; its own and the global options by their long
 * name or one-letter alias, `--name value` or `--name=value` (never a value that is empty or
 * starts with `-`, always one of an option's choices); a flag alone, or `--no-name` for a
 * flag or an option the table marks negatable; an `array` option repeated, one value each.
 * The result is the object yargs would hand the handler (each option also under its
 * camel-case name and its alias, defaults filled in, every value through the option's coerce).
 *
 * Every other line gets undefined and goes through yargs, which gives every message: an
 * unknown command or option, --help, --version, `--`, an option given twice, a flag followed
 * by `true` or `false`, a missing value or operand, one too many, a value its coerce refuses.
 * test/cli/fastArgs.test.ts checks that yargs reads every line read here the same.
 */
import { COMMANDS, GLOBAL_OPTIONS } from './commands.js';
import { camel, type CommandSpec, type OptionSpec } from './optionSpec.js';

export interface FastArgs {
  command: CommandSpec;
  argv: Record<string, unknown>;
}

/** `--name` and `-a` of each option, to the option's name. */
function flagsOf(options: Readonly<Record<string, OptionSpec>>): Map<string, string> {
  const flags = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) {
    flags.set(`--${name}`, name);
    if (o.alias) flags.set(`-${o.alias}`, name);
  }
  return flags;
}

/** The options a command line gave, by name: a flag's true or false, a value, or an array's values. */
function readOptions(tokens: string[], options: Readonly<Record<string, OptionSpec>>, operands: string[]): Map<string, unknown> | undefined {
  const flags = flagsOf(options);
  const given = new Map<string, unknown>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!token.startsWith('-')) {
      if (token === '') return undefined;
      operands.push(token);
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    let name = flags.get(eq < 0 ? token : token.slice(0, eq));
    let value: unknown;
    if (name === undefined) {
      // `--no-name`: false, for a flag or a negatable option
      const negated = eq < 0 && token.startsWith('--no-') ? token.slice(5) : '';
      const o = Object.hasOwn(options, negated) ? options[negated] : undefined;
      if (!o || !(o.type === 'boolean' || o.negatable)) return undefined;
      name = negated;
      value = false;
    }
    const o = options[name];
    if (value === false || o.type === 'boolean') {
      // yargs takes a `true` or `false` after a flag as its value, and reads `--flag=…` itself
      if (eq >= 0 || tokens[i + 1] === 'true' || tokens[i + 1] === 'false') return undefined;
      value ??= true;
    } else {
      value = eq >= 0 ? token.slice(eq + 1) : tokens[++i];
      if (typeof value !== 'string' || value === '' || value.startsWith('-')) return undefined;
      if (o.choices && !o.choices.includes(value)) return undefined;
    }
    const before = given.get(name);
    if (o.array && value !== false) given.set(name, [...((before as string[] | undefined) ?? []), value]);
    else if (before !== undefined) return undefined;
    else given.set(name, value);
  }
  return given;
}

/** `args` without the program (process.argv.slice(2)); undefined: yargs reads them. */
export function fastArgs(args: string[], commands: readonly CommandSpec[] = COMMANDS): FastArgs | undefined {
  const [name, ...rest] = args;
  const command = commands.find((c) => c.name === name);
  if (!command) return undefined;
  const options: Readonly<Record<string, OptionSpec>> = { ...GLOBAL_OPTIONS, ...command.options };
  const operands: string[] = [];
  const given = readOptions(rest, options, operands);
  if (!given) return undefined;

  const argv: Record<string, unknown> = { _: [command.name], $0: 'hashify' };
  const { positionals } = command;
  const last = positionals[positionals.length - 1];
  if (last?.array ? operands.length < positionals.length : operands.length !== positionals.length) return undefined;
  positionals.forEach((p, k) => (argv[p.name] = p.array ? operands.slice(k) : operands[k]));

  for (const [key, o] of Object.entries(options)) {
    let value = given.has(key) ? given.get(key) : o.default;
    if (value === undefined) {
      if (o.demandOption) return undefined;
      continue;
    }
    try {
      value = o.coerce ? o.coerce(value) : value;
    } catch {
      return undefined; // yargs prints the coerce's message
    }
    for (const k of [key, camel(key), ...(o.alias ? [o.alias] : [])]) argv[k] = value;
  }
  return { command, argv };
}
