/**
 * Where a plan may be written. A plan that an apply ran has a journal, and that journal is
 * the only way back (undo reads it), so `plan` never writes over such a plan. The default
 * journals sit beside the plan (`FILE.journal`, `FILE.undo.journal`); a journal put
 * elsewhere with `apply --journal J` is recorded in `FILE.journals` (one JSON string a line)
 * so that plan sees it too.
 */
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { HashifyError, errnoCode } from '../errors.js';
import { displayPath, fsPath, resolveText as resolve, shellWord } from '../pathBytes.js';

/** The undo journal that goes with an apply journal (`FILE.journal` → `FILE.undo.journal`). */
export function undoJournalOf(applyJournal: string): string {
  return `${applyJournal.replace(/\.journal$/, '')}.undo.journal`;
}

/** The file that lists the journals given with `apply --journal` for `planFile`. */
export function journalsFileOf(planFile: string): string {
  return `${resolve(planFile)}.journals`;
}

/** Records that `journal` belongs to `planFile` (called by apply before it writes the journal). */
export function recordJournal(planFile: string, journal: string): void {
  const abs = resolve(journal);
  if (abs === `${resolve(planFile)}.journal`) return;
  if (journalsOf(planFile).includes(abs)) return;
  appendFileSync(fsPath(journalsFileOf(planFile)), JSON.stringify(abs) + '\n', { mode: 0o644 });
}

/** Every journal of `planFile` that exists now: the default ones and those recorded. */
export function journalsOf(planFile: string): string[] {
  const abs = resolve(planFile);
  let recorded: string[] = [];
  try {
    recorded = readFileSync(fsPath(journalsFileOf(planFile)), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        try {
          return String(JSON.parse(l));
        } catch {
          return '';
        }
      })
      .filter(Boolean);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const all = [`${abs}.journal`, `${abs}.undo.journal`, ...recorded, ...recorded.map(undoJournalOf)];
  return [...new Set(all)].filter((j) => existsSync(fsPath(j)));
}

/**
 * The absolute path to write the plan to, checked before any work: `-` is refused (a plan
 * is written atomically to a file, and `show`/`apply` need that file), its directory must
 * exist, it must not be a directory, and it must not be a plan with a journal.
 */
export function checkPlanOutput(output: string): string {
  if (output === '-') {
    throw new HashifyError('USAGE', 'The plan cannot go to stdout (-o -): it is written atomically to a file, which show and apply then read', { hint: 'name a file, e.g. -o guests.plan.jsonl' });
  }
  const abs = resolve(output);
  const dir = dirname(abs);
  const dst = statSync(fsPath(dir), { throwIfNoEntry: false });
  if (!dst?.isDirectory()) throw new HashifyError('USAGE', `Cannot write the plan ${displayPath(output)}: the directory ${displayPath(dir)} ${dst ? 'is not a directory' : 'does not exist'}`);
  if (statSync(fsPath(abs), { throwIfNoEntry: false })?.isDirectory()) throw new HashifyError('USAGE', `Cannot write the plan ${displayPath(output)}: it is a directory`);
  const journals = journalsOf(abs);
  if (journals.length) {
    throw new HashifyError('PLAN_HAS_JOURNAL', `Refusing to write over ${displayPath(output)}: an apply of that plan left ${journals.map((j) => displayPath(j)).join(' and ')}, the only way to undo it`, {
      hint: `write the new plan to another file; remove the journal(s) only once you will never need \`hashify undo ${shellWord(output)}\``,
    });
  }
  return abs;
}
