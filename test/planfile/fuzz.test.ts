/**
 * A deterministic, seeded fuzzer over real plans (store mode and --no-store, over a tree with
 * hard links, a metadata split and a non-UTF-8 name). Every mutant must be refused by `show`
 * with exit 2 unless its bytes are the original's; a sample of them also goes through the
 * CLI's `apply`, which must exit 2 and leave the tree exactly as it was.
 *
 * Mutants: random bit flips, byte inserts, deletes and overwrites anywhere; U+FFFD of a
 * non-UTF-8 name replaced by raw invalid bytes; lines duplicated, dropped, swapped, moved and
 * shuffled; the trailer's counts off by one or the trailer spelt another way; and JSON value
 * edits (another type, numbers beyond their range, negative numbers, non-normal paths, paths
 * outside the roots or inside the store, op/group numbers off by one, another integrity)
 * after which the trailer is resealed (integrity and totals recomputed) so that only the
 * plan's rules can catch them. One known gap is allowed: see onlyUncheckedTrailerFields.
 *
 * HASHIFY_FUZZ_SEED=n and HASHIFY_FUZZ_MUTANTS=n (per plan) rerun it another way; a failure
 * prints the seed, the mutant's number and description, and where its bytes were saved.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeTree, fullSnapshot } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { runShow } from '../../src/cli/show.js';
import { Output } from '../../src/cli/output.js';
import { HashifyError } from '../../src/errors.js';
import { planTotals, sri, toBytes } from '../helpers/planTotals.js';

const SEED = Number(process.env.HASHIFY_FUZZ_SEED ?? 0x5eed2024);
const MUTANTS = Number(process.env.HASHIFY_FUZZ_MUTANTS ?? 200);
const APPLY_SAMPLE = 7; // per plan

/** mulberry32: small, fast, good enough to pick mutations, and the same on every machine. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}
type Rng = ReturnType<typeof prng>;

/** Totals as a reader must find them, counted here from the records; undefined when a record is too broken to count. */
function totalsOf(recs: any[]): object | undefined {
  try {
    return planTotals(recs);
  } catch {
    return undefined;
  }
}

/**
 * Body lines plus the original trailer, with linesIntegrity recomputed the way PlanWriter does
 * (SRI sha256 of the bytes of every line before the trailer); with `totals`, the counts too.
 */
function reseal(body: string[], trailerLine: string, totals: boolean): Buffer {
  const trailer = JSON.parse(trailerLine);
  if (totals) {
    let recs: any[] | undefined;
    try {
      recs = body.map((l) => JSON.parse(l));
    } catch {
      recs = undefined;
    }
    const t = recs && totalsOf(recs);
    if (t) Object.assign(trailer, t);
  }
  trailer.linesIntegrity = sri(toBytes(body));
  return toBytes([...body, JSON.stringify(trailer)]);
}

/** Every value inside a record, with the keys that lead to it. */
function nodes(value: unknown, path: Array<string | number> = []): Array<{ path: Array<string | number>; value: unknown }> {
  const out: Array<{ path: Array<string | number>; value: unknown }> = [];
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = [...path, Array.isArray(value) ? Number(k) : k];
      out.push({ path: p, value: v }, ...nodes(v, p));
    }
  }
  return out;
}

function setAt(rec: any, path: Array<string | number>, v: unknown): void {
  let o = rec;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]] = v;
}

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const TIME_FIELDS = new Set(['mtime', 'ctime', 'atime']);
const U64_FIELDS = new Set(['dev', 'ino', 'size', 'minSize', 'bytesReclaimable']);

/**
 * Replacements for one value that no valid plan can hold there. Only edits that the schema or
 * the rules can recognise: a changed but in-range inode number or time is a different valid
 * plan, which is what `apply`'s identity checks and `--expect` are for.
 */
function invalidValues(key: string | number, value: unknown): unknown[] {
  const type = jsonType(value);
  const out: unknown[] = [null, true, 0, 'x', [], {}].filter((v) => jsonType(v) !== type);
  if (type === 'number') out.push(1.5, -1, 2 ** 53, 1e300, 4294967296);
  if (typeof key === 'string' && U64_FIELDS.has(key)) out.push('-1', '18446744073709551616', '99999999999999999999', '1' + '0'.repeat(30), '12a', '007');
  if (typeof key === 'string' && TIME_FIELDS.has(key)) out.push('9223372036854775808', '-9223372036854775809', '1' + '0'.repeat(30), '1.5');
  if (key === 'path' && typeof value === 'string') {
    const slash = value.lastIndexOf('/');
    const dir = value.slice(0, slash);
    const base = value.slice(slash + 1);
    const parent = dir.slice(dir.lastIndexOf('/') + 1);
    out.push(
      '/etc/passwd',
      '/nonexistent/file',
      `${value}/..`,
      `${value}/.`,
      `${value}/`,
      `${dir}//${base}`,
      `${dir}/../${parent}/${base}`,
      `${dir}/./${base}`,
      `/../${value}`,
      'relative/path',
      '',
      `${value}\u0000`,
    );
  }
  return out;
}

/**
 * Absolute paths in normal form that lie outside every root: elsewhere, and beside a root
 * with the root's name as a string prefix (`/t/a` is no root of `/t/ab/x`).
 */
function outsideRoots(value: string, roots: string[], store: string | undefined): string[] {
  const base = value.slice(value.lastIndexOf('/') + 1);
  const all = ['/etc/passwd', '/nonexistent/file', ...roots.flatMap((r) => [`${r}x/${base}`, `${r}-evil/${base}`, r.slice(0, r.lastIndexOf('/')) + '/' + base])];
  // Inside the store (which may lie inside a root): no file of a root, and no entry of that name.
  if (store) all.push(`${store}/${base}`, `${store}/sha256/00/${'0'.repeat(62)}`);
  return all.filter((p) => p !== value && !roots.includes(p));
}

interface Mutant {
  bytes: Buffer;
  what: string;
  resealed: boolean;
}

const INTERESTING = [0x20, 0x0a, 0x0d, 0x22, 0x5c, 0x2c, 0x7b, 0x7d, 0x30, 0x39, 0x2d, 0x2f, 0x2e, 0x00, 0xff, 0xc3, 0xbd];

function mutate(rng: Rng, original: Buffer, lines: string[]): Mutant {
  const body = lines.slice(0, -1);
  const trailer = lines[lines.length - 1];
  const header = JSON.parse(lines[0]);
  const roots = (header.roots as Array<{ path: string }>).map((r) => r.path);
  const store: string | undefined = header.store?.path;
  const kind = rng.int(14);
  switch (kind) {
    case 0:
    case 1: {
      const b = Buffer.from(original);
      const n = 1 + rng.int(3);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = rng.int(b.length);
        b[p] ^= 1 << rng.int(8);
        at.push(p);
      }
      return { bytes: b, what: `bit flips at ${at.join(',')}`, resealed: false };
    }
    case 2: {
      const p = rng.int(original.length + 1);
      const v = rng.next() < 0.5 ? rng.pick(INTERESTING) : rng.int(256);
      return { bytes: Buffer.concat([original.subarray(0, p), Buffer.from([v]), original.subarray(p)]), what: `insert 0x${v.toString(16)} at ${p}`, resealed: false };
    }
    case 3: {
      const p = rng.int(original.length);
      const n = 1 + rng.int(rng.next() < 0.7 ? 1 : 16);
      return { bytes: Buffer.concat([original.subarray(0, p), original.subarray(p + n)]), what: `delete ${n} bytes at ${p}`, resealed: false };
    }
    case 4: {
      const b = Buffer.from(original);
      const p = rng.int(b.length);
      b[p] = rng.next() < 0.5 ? rng.pick(INTERESTING) : rng.int(256);
      return { bytes: b, what: `byte ${p} set to 0x${b[p].toString(16)}`, resealed: false };
    }
    case 5: {
      // A non-UTF-8 name is written as U+FFFD (EF BF BD) in `path`: the bytes that decode to the same text.
      const fffd = Buffer.from([0xef, 0xbf, 0xbd]);
      const hits: number[] = [];
      for (let i = original.indexOf(fffd); i !== -1; i = original.indexOf(fffd, i + 1)) hits.push(i);
      if (!hits.length) throw new Error('the plan has no U+FFFD');
      const p = rng.pick(hits);
      const v = rng.pick([0xff, 0xe9, 0x80, 0xfe]);
      return { bytes: Buffer.concat([original.subarray(0, p), Buffer.from([v]), original.subarray(p + 3)]), what: `U+FFFD at ${p} replaced by the invalid byte 0x${v.toString(16)}`, resealed: false };
    }
    case 6: {
      // Duplicate a line (anywhere), then either leave the trailer or reseal it completely.
      const all = [...lines];
      const from = rng.int(all.length);
      const to = rng.int(all.length + 1);
      all.splice(to, 0, all[from]);
      const sealed = to < all.length - 1 && from < lines.length - 1 && rng.next() < 0.6;
      return { bytes: sealed ? reseal(all.slice(0, -1), trailer, true) : toBytes(all), what: `line ${from + 1} duplicated before line ${to + 1}${sealed ? ', resealed' : ''}`, resealed: sealed };
    }
    case 7: {
      // Drop a line. Resealing the integrity only: a plan with fewer operations and matching
      // totals is a smaller valid plan, which the trailer's totals exist to tell apart.
      const all = [...lines];
      const at = rng.int(all.length);
      all.splice(at, 1);
      const sealed = at < lines.length - 1 && rng.next() < 0.6;
      return { bytes: sealed ? reseal(all.slice(0, -1), trailer, false) : toBytes(all), what: `line ${at + 1} dropped${sealed ? ', integrity resealed' : ''}`, resealed: sealed };
    }
    case 8: {
      // Swap two lines, or move one; resealed when the trailer stays last.
      const all = [...lines];
      const i = rng.int(all.length);
      let j = rng.int(all.length - 1);
      if (j >= i) j++;
      let what: string;
      if (rng.next() < 0.5) {
        [all[i], all[j]] = [all[j], all[i]];
        what = `lines ${i + 1} and ${j + 1} swapped`;
      } else {
        const [l] = all.splice(i, 1);
        all.splice(j, 0, l);
        what = `line ${i + 1} moved to ${j + 1}`;
      }
      const sealed = all[all.length - 1] === trailer && rng.next() < 0.7;
      return { bytes: sealed ? reseal(all.slice(0, -1), trailer, true) : toBytes(all), what: what + (sealed ? ', resealed' : ''), resealed: sealed };
    }
    case 9: {
      // Shuffle the records between header and trailer, resealed.
      const mid = body.slice(1);
      for (let i = mid.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [mid[i], mid[j]] = [mid[j], mid[i]];
      }
      return { bytes: reseal([body[0], ...mid], trailer, true), what: 'records shuffled, resealed', resealed: true };
    }
    case 10: {
      // The trailer's own line (no integrity covers it): a count off by one, or the same values spelt another way.
      const tr = JSON.parse(trailer);
      if (rng.next() < 0.5) {
        const k = rng.pick(['ops', 'groups', 'storeEntries', 'sharedInodes', 'bytesReclaimable', 'files'] as const);
        const v = tr[k];
        tr[k] = typeof v === 'string' ? (BigInt(v) + 1n).toString() : v > 0 && rng.next() < 0.5 ? v - 1 : v + 1;
        return { bytes: toBytes([...body, JSON.stringify(tr)]), what: `trailer ${k}: ${JSON.stringify(v)} → ${JSON.stringify(tr[k])}`, resealed: false };
      }
      const colons = [...trailer].map((c, i) => (c === ':' ? i : -1)).filter((i) => i >= 0);
      const c = rng.pick(colons);
      const { linesIntegrity, ...rest } = tr;
      const forms: Array<[string, string]> = [
        ['a space after a colon', trailer.slice(0, c + 1) + ' ' + trailer.slice(c + 1)],
        ['a space before the newline', trailer + ' '],
        ['"ops" as a decimal', trailer.replace(/"ops":(\d+)/, '"ops":$1.0')],
        ['a letter escaped', trailer.replace('"trailer"', '"\\u0074railer"')],
        ['keys reordered', JSON.stringify({ linesIntegrity, ...rest })],
      ];
      const [what, line] = rng.pick(forms);
      return { bytes: toBytes([...body, line]), what: `trailer with ${what}`, resealed: false };
    }
    default: {
      // A value edit in one record before the trailer, resealed (integrity and totals).
      const index = rng.int(lines.length - 1);
      const rec = JSON.parse(lines[index]);
      const all = nodes(rec);
      const paths = all.filter((n) => n.path[n.path.length - 1] === 'path');
      // Changing op, or the group of a record that starts a group, always breaks the numbering.
      const prev = index > 0 ? JSON.parse(lines[index - 1]) : undefined;
      const storeMode = store !== undefined;
      const startsGroup = rec.type === 'store' || (rec.type === 'link' && (storeMode || prev?.type === 'header' || prev?.group !== rec.group));
      const numbering = all.filter((n) => n.path.length === 1 && (n.path[0] === 'op' || (n.path[0] === 'group' && startsGroup)));
      // Another well-formed integrity: a store entry is named by its integrity, and a group
      // with a store record has that one integrity. (In a --no-store group the first link sets it.)
      const integrities = all.filter((n) => n.path[n.path.length - 1] === 'integrity' && (rec.type === 'store' || storeMode));
      const r = rng.next();
      let node: { path: Array<string | number>; value: unknown };
      let replacement: unknown;
      if (r < 0.4 && paths.length) {
        node = rng.pick(paths);
        replacement = rng.pick(rng.next() < 0.5 ? outsideRoots(node.value as string, roots, store) : invalidValues('path', node.value));
      } else if (r < 0.5 && numbering.length) {
        node = rng.pick(numbering);
        replacement = (node.value as number) + (rng.next() < 0.5 ? 1 : -1);
      } else if (r < 0.6 && integrities.length) {
        node = rng.pick(integrities);
        replacement = rng.pick(['sha256', 'sha512'].map((a) => `${a}-${createHash(a).update('other content').digest('base64')}`));
      } else {
        node = rng.pick(all);
        replacement = rng.pick(invalidValues(node.path[node.path.length - 1], node.value));
      }
      setAt(rec, node.path, replacement);
      const edited = [...body];
      edited[index] = JSON.stringify(rec);
      return { bytes: reseal(edited, trailer, true), what: `line ${index + 1} ${node.path.join('.')}: ${JSON.stringify(node.value)} → ${JSON.stringify(replacement)}, resealed`, resealed: true };
    }
  }
}

/**
 * The one known gap (reported, not fixed): the trailer's `files` (files scanned) and `skipped`
 * counts are facts of the scan that no rule can recompute and that no integrity covers, so a
 * plan that differs from the original only there is accepted; its digest differs, which is
 * what `apply --expect` checks. True only for exactly such a mutant.
 */
function onlyUncheckedTrailerFields(mutant: Buffer, lines: string[]): boolean {
  const got = mutant.toString('utf8').split('\n');
  if (got.pop() !== '' || got.length !== lines.length) return false;
  if (got.slice(0, -1).some((l, i) => l !== lines[i])) return false;
  const a = JSON.parse(lines[lines.length - 1]);
  let b: any;
  try {
    b = JSON.parse(got[got.length - 1]);
  } catch {
    return false;
  }
  if (JSON.stringify(b) !== got[got.length - 1]) return false;
  for (const k of ['files', 'skipped']) {
    delete a[k];
    delete b[k];
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `hashify show` in process: 'accepted', 'refused' (exit 2), or the unexpected error. */
function showInProcess(file: string): string {
  try {
    const code = runShow({ plan: file, quiet: true }, new Output({ quiet: true, progress: false }));
    return code === 0 ? 'accepted' : `exit ${code}`;
  } catch (err) {
    if (err instanceof HashifyError && err.exitCode === 2) return 'refused';
    return `unexpected ${(err as Error)?.stack ?? String(err)}`;
  }
}

describe(`plan file fuzzing (seed ${SEED}, ${MUTANTS} mutants per plan)`, () => {
  const t = makeTree({
    'a/one': 'one\n'.repeat(40),
    'b/one': 'one\n'.repeat(40),
    'a/sub/two': 'two\n'.repeat(30),
    'b/sub/two': 'two\n'.repeat(30),
    'a/caf\u00e9': 'latin-1 name\n',
    'b/caf\u00e9': 'latin-1 name\n',
    'a/h': 'hard linked\n',
    'b/h1': 'hard linked\n',
    'b/h2': { hardlink: 'b/h1' },
    'a/m600': { content: 'same bytes, two modes\n', mode: 0o600 },
    'b/m600': { content: 'same bytes, two modes\n', mode: 0o600 },
    'a/m644': { content: 'same bytes, two modes\n', mode: 0o644 },
    'b/m644': { content: 'same bytes, two modes\n', mode: 0o644 },
  });
  const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-fuzz-'));
  const keep = join(tmpdir(), `hashify-fuzz-failures-${SEED}`);
  afterAll(() => {
    t.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const plans: Array<[string, string[]]> = [
    ['store', [t.path('a'), t.path('b')]],
    ['no-store', [t.path('a'), t.path('b'), '--no-store']],
    ['one root, store inside it', [t.root]],
  ];
  plans.forEach(([name, args], n) => {
    test(`${name} plan: every mutant is refused by show unless it is the original; apply refuses a sample and changes nothing`, () => {
      const file = join(dir, `plan-${n}.plan.jsonl`);
      const made = hashify(['plan', ...args, '-o', file, '--no-cache', '-q']);
      expect(made.status).toBe(0);
      const original = fs.readFileSync(file);
      const text = original.toString('utf8');
      const lines = text.split('\n').slice(0, -1);
      // The plan has what the mutations are meant to meet: a non-UTF-8 name, and (store mode) a split over two entries.
      expect(text).toContain('"path64"');
      expect(text).toContain('\ufffd');
      if (name !== 'no-store') expect(lines.filter((l) => l.includes('"type":"store"')).length).toBe(6);
      expect(showInProcess(file)).toBe('accepted');
      // The reseal helper reproduces the writer exactly, so resealed mutants differ only by their edit.
      expect(reseal(lines.slice(0, -1), lines[lines.length - 1], true).equals(original)).toBe(true);

      const rng = prng(SEED ^ Math.imul(n, 0x9e3779b9));
      const pickSample = prng(SEED + 1);
      const mutantFile = join(dir, `plan-${n}.mutant.jsonl`);
      const sample: Array<{ i: number; m: Mutant }> = [];
      const failures: string[] = [];
      let identical = 0;
      let knownGap = 0;
      for (let i = 0; i < MUTANTS; i++) {
        const m = mutate(rng, original, lines);
        if (m.bytes.equals(original)) {
          identical++;
          continue;
        }
        fs.writeFileSync(mutantFile, m.bytes);
        const outcome = showInProcess(mutantFile);
        if (outcome === 'accepted' && onlyUncheckedTrailerFields(m.bytes, lines)) {
          knownGap++;
        } else if (outcome !== 'refused') {
          fs.mkdirSync(keep, { recursive: true });
          const saved = join(keep, `plan-${n}-mutant-${i}.jsonl`);
          fs.writeFileSync(saved, m.bytes);
          failures.push(`seed ${SEED} ${name} mutant #${i} (${m.what}): show ${outcome}; bytes saved to ${saved}`);
        } else if (sample.length < APPLY_SAMPLE && pickSample.next() < (m.resealed ? 0.25 : 0.05)) {
          sample.push({ i, m });
        }
      }
      expect(failures).toEqual([]);
      expect(identical).toBeLessThan(MUTANTS / 10);
      expect(knownGap).toBeLessThan(MUTANTS / 10);

      // The CLI agrees, and apply changes nothing: no content, inode, mode or mtime, no store, no journal.
      const before = fullSnapshot(t.root);
      expect(sample.length).toBeGreaterThanOrEqual(Math.min(APPLY_SAMPLE, 5));
      for (const { i, m } of sample) {
        const f = join(dir, `plan-${n}-sample-${i}.plan.jsonl`);
        fs.writeFileSync(f, m.bytes);
        const r = hashify(['apply', f, '--json']);
        const context = `seed ${SEED} ${name} mutant #${i} (${m.what}): ${r.stderr}`;
        // Under --json the only output is the error, as JSON.
        expect([context, r.status, Object.keys(JSON.parse(r.stdout))]).toEqual([context, 2, ['error']]);
        expect(r.stderr).toMatch(/^hashify: Plan ".*" (is invalid at line \d+: |is not|does not)/);
        expect(fs.existsSync(`${f}.journal`)).toBe(false);
        expect(fs.existsSync(`${f}.lock`)).toBe(false);
      }
      expect(fullSnapshot(t.root)).toEqual(before);
      expect(fs.existsSync(t.path('.hash'))).toBe(false);
      // And the CLI's show refuses the first few as the in-process one did.
      for (const { i, m } of sample.slice(0, 3)) {
        const r = hashify(['show', join(dir, `plan-${n}-sample-${i}.plan.jsonl`)]);
        expect([`seed ${SEED} ${name} mutant #${i} (${m.what})`, r.status, r.stdout]).toEqual([`seed ${SEED} ${name} mutant #${i} (${m.what})`, 2, '']);
      }
    });
  });
});
