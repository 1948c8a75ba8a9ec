/** Exit codes of every command (SPEC "Exit codes"). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  drift: 3,
  locked: 4,
  aborted: 5,
  sigint: 130,
  sigterm: 143,
} as const;

export type ErrorCode =
  | 'USAGE'
  | 'PLAN_MISSING'
  | 'PLAN_INVALID'
  | 'PLAN_DIGEST_MISMATCH'
  | 'PLAN_UNSUPPORTED'
  | 'JOURNAL_FOREIGN'
  | 'JOURNAL_INVALID'
  | 'LOCKED'
  | 'REFLINK_UNSUPPORTED'
  | 'FS_UNSUPPORTED'
  | 'STORE_INVALID'
  | 'ROOTS_SPLIT'
  | 'PLAN_HAS_JOURNAL'
  | 'CACHE_FOREIGN'
  | 'EXISTS'
  | 'IO';

const EXIT_OF: Record<ErrorCode, number> = {
  USAGE: EXIT.usage,
  PLAN_MISSING: EXIT.usage,
  PLAN_INVALID: EXIT.usage,
  PLAN_DIGEST_MISMATCH: EXIT.usage,
  PLAN_UNSUPPORTED: EXIT.usage,
  JOURNAL_FOREIGN: EXIT.usage,
  JOURNAL_INVALID: EXIT.usage,
  LOCKED: EXIT.locked,
  REFLINK_UNSUPPORTED: EXIT.failure,
  FS_UNSUPPORTED: EXIT.failure,
  STORE_INVALID: EXIT.usage,
  ROOTS_SPLIT: EXIT.usage,
  PLAN_HAS_JOURNAL: EXIT.usage,
  CACHE_FOREIGN: EXIT.usage,
  EXISTS: EXIT.usage,
  IO: EXIT.failure,
};

/**
 * The one error class of hashify: a stable code, a sentence for the user that names the
 * path and the action, an optional hint, and the exit code it maps to. Only src/cli catches
 * everything; lower layers narrow errno codes they can handle and rethrow the rest.
 */
export class HashifyError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HashifyError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = EXIT_OF[code];
  }
}

/** The errno code of a Node system error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
