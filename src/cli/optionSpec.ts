/**
 * The shape of one row of the command table (src/cli/commands.ts): a command's operands and
 * options, declared once. src/cli/yargsCommands.ts turns a row into yargs' builder (help,
 * messages, completion); src/cli/fastArgs.ts reads the usual command lines from the same row
 * without loading yargs. The types below also give each handler its parsed arguments' type.
 */
import type { GlobalOptions, Output } from './output.js';

/** One option, in yargs' own terms (the same names, the same meaning). */
export interface OptionSpec {
  /** Absent only beside `choices` (yargs then prints no type). */
  type?: 'string' | 'boolean';
  alias?: string;
  choices?: readonly string[];
  default?: unknown;
  /** Repeatable, one value each time (yargs: `array: true, nargs: 1`). */
  array?: true;
  requiresArg?: true;
  demandOption?: true;
  /** `--no-NAME` gives false and is read without yargs (booleans always are). */
  negatable?: true;
  coerce?: (value: unknown) => unknown;
  describe: string;
}

/** One operand; `array` only on the last (`<roots..>`). Every operand is required. */
export interface PositionalSpec {
  name: string;
  array?: true;
  describe?: string;
}

/** `min-size` → `minSize`, as yargs names the camel-case copy of an option. */
export type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;

/** The runtime twin of Camel. */
export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

type Value<O extends OptionSpec> = O extends { coerce: (v: unknown) => infer R }
  ? R
  : O extends { choices: readonly (infer C)[] }
    ? C
    : O extends { type: 'boolean' }
      ? boolean
      : O extends { array: true }
        ? string[]
        : string;
type Always<O> = O extends { default: unknown } ? true : O extends { demandOption: true } ? true : false;

/** What a command's handler receives: its operands, its options by camel-case name, the globals. */
export type ArgsOf<P extends readonly PositionalSpec[], O extends Record<string, OptionSpec>> = GlobalOptions & {
  [K in keyof O & string as Camel<K>]: Always<O[K]> extends true ? Value<O[K]> : Value<O[K]> | undefined;
} & { [Q in P[number] as Q['name']]: Q extends { array: true } ? string[] : string };

/** A row of the command table, typed as the readers see it. */
export interface CommandSpec {
  name: string;
  describe: string;
  positionals: readonly PositionalSpec[];
  options: Readonly<Record<string, OptionSpec>>;
  examples?: readonly (readonly [string, string])[];
  /** Runs the command with the parsed arguments (yargs' argv, or the same object from fastArgs). */
  run(argv: Record<string, unknown>): Promise<void>;
}

/** The handler of a row, before run() wraps it (see commands.ts). */
export type Handler<A> = (argv: A, out: Output) => Promise<number> | number;
