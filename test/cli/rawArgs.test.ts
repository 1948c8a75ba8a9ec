/**
 * Paths on the command line are bytes (SPEC "Plan file": a name that is not valid UTF-8 must
 * round-trip exactly). Node decodes argv and the current directory as UTF-8, with U+FFFD for
 * every other byte; hashify reads those arguments again from /proc/self/cmdline and the
 * directory from /proc/self/cwd (src/cli/rawArgv.ts), so each operand names the file the user
 * named: roots (absolute, and relative under a directory whose path is not UTF-8), the plan
 * file and the journals beside it, stores, clone and switch operands, --exclude patterns.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashifyBytes } from '../helpers/cli.js';

const base = fs.mkdtempSync(join(tmpdir(), 'hashify-rawargs-'));
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

/** `base/NAME`, NAME given as latin1 (so '\xfe' is the one byte 0xfe). */
const at = (name: string): Buffer => Buffer.concat([Buffer.from(base + '/'), Buffer.from(name, 'latin1')]);
const sub = (dir: Buffer, name: string): Buffer => Buffer.concat([dir, Buffer.from('/' + name, 'latin1')]);

const MTIME = new Date('2024-05-06T07:08:09Z');

/** Two directories that each hold the same file `x`, of one mtime (mtime must match by default:
 *  two writes straddling a clock tick would otherwise make two groups of one). */
function twoDuplicates(a: Buffer, b: Buffer, content = 'same\n'): void {
  for (const d of [a, b]) {
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(sub(d, 'x'), content);
    fs.utimesSync(sub(d, 'x'), MTIME, MTIME);
  }
}

const ino = (p: Buffer) => fs.statSync(p).ino;
/** The exact bytes of each root a plan file records (path64 when not UTF-8). */
function planRoots(plan: Buffer): Buffer[] {
  const header = JSON.parse(fs.readFileSync(plan, 'utf8').split('\n')[0]) as { roots: { path: string; path64?: string }[] };
  return header.roots.map((r) => (r.path64 ? Buffer.from(r.path64, 'base64') : Buffer.from(r.path)));
}

test('plan with roots whose names are not UTF-8: each root is the directory named, byte for byte', () => {
  const a = at('t43/\xfea'), b = at('t43/\xfeb');
  twoDuplicates(a, b);
  const plan = at('t43.plan');
  const r = hashifyBytes(['plan', a, b, '-o', plan, '--no-cache', '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.json()).toMatchObject({ ops: 2, groups: 1 });
  expect(planRoots(plan)).toEqual([a, b]);
});

test('plan with relative roots under a current directory whose path is not UTF-8', () => {
  const cwd = at('t44/\xfep');
  twoDuplicates(sub(cwd, 'a'), sub(cwd, 'b'));
  const r = hashifyBytes(['plan', 'a', 'b', '-o', '../t44.plan', '--no-cache', '-q'], { cwd });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(planRoots(at('t44/t44.plan'))).toEqual([sub(cwd, 'a'), sub(cwd, 'b')]);
});

test('a root that does not exist is named with its bytes shown readably', () => {
  const r = hashifyBytes(['plan', at('\xfenone'), '-o', at('none.plan'), '--no-cache']);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(`Cannot scan root "${base}/\\xfenone": it does not exist`);
});

test('show, verify, apply, status, undo of a plan file whose own name is not UTF-8 (and its journals beside it)', () => {
  const dir = at('t45');
  const a = sub(dir, '\xfea'), b = sub(dir, '\xfeb');
  twoDuplicates(a, b);
  const plan = sub(dir, '\xff.plan');
  expect(hashifyBytes(['plan', a, b, '-o', plan, '--no-cache', '-q']).status).toBe(0);
  const show = hashifyBytes(['show', plan, '--json']);
  expect(show.status).toBe(0);
  const digest = show.json().digest as string;
  expect(hashifyBytes(['verify', plan, '--json']).json()).toMatchObject({ applicable: 2 });
  // Relative, from a directory whose path is not UTF-8 either.
  const apply = hashifyBytes(['apply', '../\xff.plan', '--expect', digest, '--json'].map((s) => Buffer.from(s, 'latin1')), { cwd: a });
  expect(apply.stderr).toBe('');
  expect(apply.status).toBe(0);
  expect(ino(sub(a, 'x'))).toBe(ino(sub(b, 'x')));
  expect(fs.existsSync(sub(dir, '\xff.plan.journal'))).toBe(true);
  expect(hashifyBytes(['status', plan, '--json']).json()).toMatchObject({ done: 2, finished: true, running: false });
  const undo = hashifyBytes(['undo', plan, '-q']);
  expect(undo.stderr).toBe('');
  expect(undo.status).toBe(0);
  expect(ino(sub(a, 'x'))).not.toBe(ino(sub(b, 'x')));
  expect(fs.existsSync(sub(dir, '\xff.plan.undo.journal'))).toBe(true);
  // Nothing was made under the U+FFFD spelling of any of these names.
  expect(fs.readdirSync(dir, { encoding: 'buffer' }).filter((n) => n.includes(Buffer.from('\ufffd')))).toEqual([]);
});

test('apply --journal and plan -o, both not UTF-8: the journal is recorded, and plan refuses to write over that plan', () => {
  const dir = at('t46');
  twoDuplicates(sub(dir, 'a'), sub(dir, 'b'));
  const plan = sub(dir, '\xfe.plan'), journal = sub(dir, '\xfej.journal');
  const replan = () => hashifyBytes(['plan', sub(dir, 'a'), sub(dir, 'b'), '-o', plan, '--no-cache', '-q']);
  expect(replan().status).toBe(0);
  expect(hashifyBytes(['apply', plan, '--journal', journal, '-q']).status).toBe(0);
  expect(fs.existsSync(journal)).toBe(true);
  const again = replan();
  expect(again.status).toBe(2);
  expect(again.stderr).toContain(`Refusing to write over "${base}/t46/\\xfe.plan": an apply of that plan left "${base}/t46/\\xfej.journal"`);
});

test('plan --store, gc and fsck of a store whose name is not UTF-8', () => {
  const dir = at('t47');
  twoDuplicates(sub(dir, 'a'), sub(dir, 'b'));
  const store = sub(dir, '\xfestore');
  const plan = sub(dir, 'p.plan');
  expect(hashifyBytes(['plan', sub(dir, 'a'), sub(dir, 'b'), '--store', store, '-o', plan, '--no-cache', '-q']).status).toBe(0);
  expect(hashifyBytes(['apply', plan, '-q']).status).toBe(0);
  expect(fs.existsSync(sub(store, 'hashify-store.json'))).toBe(true);
  expect(hashifyBytes(['fsck', store, '--json']).json()).toMatchObject({ entries: 1, ok: 1 });
  fs.rmSync(sub(dir, 'a'), { recursive: true });
  fs.rmSync(sub(dir, 'b'), { recursive: true });
  const shard = (): Buffer[] => fs.readdirSync(sub(store, 'sha256'), { encoding: 'buffer' }).flatMap((s) => fs.readdirSync(Buffer.concat([store, Buffer.from('/sha256/'), s]), { encoding: 'buffer' }));
  expect(shard()).toHaveLength(1);
  const gc = hashifyBytes(['gc', store, '--json']);
  expect(gc.status).toBe(0);
  expect(gc.json().removed).toHaveLength(1);
  expect(shard()).toHaveLength(0);
});

test('clone SRC DST, both not UTF-8', () => {
  const src = at('t48/\xfesrc'), dst = at('t48/\xfedst');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(sub(src, 'f'), 'data\n');
  const r = hashifyBytes(['clone', src, dst]);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(`no store at "${base}/t48/.hash"`);
  expect(r.stdout).toContain(`Cloned "${base}/t48/\\xfesrc" to "${base}/t48/\\xfedst"`);
  expect(fs.readFileSync(sub(dst, 'f'), 'utf8')).toBe('data\n');
});

test('switch A B, both not UTF-8', () => {
  const a = at('t49/\xfeA'), b = at('t49/\xfeB');
  for (const [d, what] of [[a, 'was A'], [b, 'was B']] as const) {
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(sub(d, 'f'), what);
  }
  const r = hashifyBytes(['switch', a, b]);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`Switched "${base}/t49/\\xfeA" and "${base}/t49/\\xfeB"`);
  expect(fs.readFileSync(sub(a, 'f'), 'utf8')).toBe('was B');
  expect(fs.readFileSync(sub(b, 'f'), 'utf8')).toBe('was A');
});

test('--exclude with a byte that is not UTF-8 excludes that name, not every name with another such byte there', () => {
  const dir = at('t50');
  fs.mkdirSync(sub(dir, 'r'), { recursive: true });
  for (const n of ['\xfex', '\xffx', 'y']) {
    fs.writeFileSync(sub(dir, 'r/' + n), 'same\n');
    fs.utimesSync(sub(dir, 'r/' + n), MTIME, MTIME);
  }
  const plan = sub(dir, 'p.plan');
  const r = hashifyBytes(['plan', sub(dir, 'r'), '--no-store', '--exclude', Buffer.from('\xfe*', 'latin1'), '-o', plan, '--no-cache', '-q']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const linked = fs.readFileSync(plan, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((rec) => rec.type === 'link');
  const names = linked.flatMap((rec) => [rec, rec.target]).map((p) => (p.path64 ? Buffer.from(p.path64, 'base64') : Buffer.from(p.path)).toString('latin1').replace(/.*\//, ''));
  expect(new Set(names)).toEqual(new Set(['\xffx', 'y']));
});

test('the command plan suggests names the plan when pasted into bash', () => {
  const dir = at('t51');
  twoDuplicates(sub(dir, 'a'), sub(dir, 'b'));
  const plan = sub(dir, "\xff'.plan");
  const r = hashifyBytes(['plan', sub(dir, 'a'), sub(dir, 'b'), '-o', plan, '--no-cache']);
  expect(r.status).toBe(0);
  const word = /Review it with: hashify show (.*)/.exec(r.stdout + r.stderr)![1];
  expect(word).toBe(`$'${base}/t51/\\xff\\'.plan'`);
  expect(execFileSync('bash', ['-c', `printf %s ${word}`])).toEqual(plan);
  // --json: well-formed UTF-8 (U+FFFD for the byte), never a lone surrogate that strict parsers refuse.
  const json = hashifyBytes(['plan', sub(dir, 'a'), sub(dir, 'b'), '-o', sub(dir, '\xfe.plan'), '--no-cache', '--json']);
  expect(json.stdout).not.toMatch(/\\ud[c-f]/i);
  expect(json.json().plan).toBe(`${base}/t51/\ufffd.plan`);
});
