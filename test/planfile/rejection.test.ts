/**
 * A plan that is not exactly what `hashify plan` wrote is refused with exit 2 by `show` and
 * by `apply`, with a message that names the line and the defect, and `apply` touches nothing:
 * no file, no inode, no store directory, no journal, no lock.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeTree, fullSnapshot } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { planTotals, sri, toBytes } from '../helpers/planTotals.js';


/** JSON lines (no newline) → file bytes. */

/**
 * Rewrites the trailer so that it agrees with the lines before it: totals counted here from
 * the records (independently of src/planfile) and linesIntegrity = SRI sha256 of the bytes of
 * every line before the trailer, newlines included (see PlanWriter). A plan resealed like this
 * can only be refused by the semantic rules.
 */
function reseal(lines: string[]): Buffer {
  const body = lines.slice(0, -1);
  const trailer = JSON.parse(lines[lines.length - 1]);
  Object.assign(trailer, planTotals(body.map((l) => JSON.parse(l))));
  trailer.linesIntegrity = sri(toBytes(body));
  return toBytes([...body, JSON.stringify(trailer)]);
}

/** Edits one record (parsed) and serialises it back in place. */
function editLine(lines: string[], index: number, edit: (rec: any) => void): string[] {
  const rec = JSON.parse(lines[index]);
  edit(rec);
  const out = [...lines];
  out[index] = JSON.stringify(rec);
  return out;
}

/** Changes one byte: the byte `offset` bytes after the first `after` in line `index` becomes `to`. */
function editByte(lines: string[], index: number, after: string, offset: number, to: (old: string) => string): Buffer {
  const bytes = toBytes(lines);
  const lineStart = toBytes(lines.slice(0, index)).length;
  const at = bytes.indexOf(after, lineStart) + after.length + offset;
  expect(at).toBeGreaterThanOrEqual(lineStart + after.length);
  expect(at).toBeLessThan(lineStart + Buffer.byteLength(lines[index]));
  const out = Buffer.from(bytes);
  out[at] = to(String.fromCharCode(bytes[at])).charCodeAt(0);
  expect(out[at]).not.toBe(bytes[at]);
  return out;
}

describe('a malformed plan is refused by show and apply with exit 2 and changes nothing', () => {
  const t = makeTree({
    'a/one': 'one\n'.repeat(30),
    'a/sub/two': 'two\n'.repeat(20),
    'a/three': 'three\n'.repeat(10),
    'b/one': 'one\n'.repeat(30),
    'b/sub/two': 'two\n'.repeat(20),
    'b/three': 'three\n'.repeat(10),
    'a/caf\u00e9': 'a name that is not UTF-8\n',
    'b/caf\u00e9': 'a name that is not UTF-8\n',
  });
  const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-reject-'));
  const good = join(dir, 'good.plan.jsonl');
  let lines: string[] = [];
  /** Line numbers (1-based) of the records, found in the real plan. */
  let firstLink = 0;
  let secondLink = 0;
  let trailerLine = 0;
  let before: Record<string, string> = {};

  beforeAll(() => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', good, '--no-cache', '-q']);
    expect(r.status).toBe(0);
    lines = fs.readFileSync(good, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const types = lines.map((l) => JSON.parse(l).type);
    // Copy-in (plan version 2): each group relinks its keeper's path too.
    expect(types).toEqual(['header', 'store', 'link', 'link', 'store', 'link', 'link', 'store', 'link', 'link', 'store', 'link', 'link', 'trailer']);
    firstLink = types.indexOf('link') + 1;
    secondLink = types.indexOf('link', firstLink) + 1;
    trailerLine = lines.length;
    // The unedited plan is valid, so every refusal below is caused by the edit alone.
    expect(hashify(['show', good, '--json']).status).toBe(0);
    expect(reseal(lines).equals(fs.readFileSync(good))).toBe(true);
    before = fullSnapshot(t.root);
  });
  afterAll(() => {
    t.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs show and apply on `file`; both must exit 2 with `message` on stderr and print no result. */
  function expectRefused(file: string, message: RegExp): void {
    // show without --json (its success is a human summary on stdout), apply with --json (its success is JSON on stdout).
    for (const args of [['show', file], ['apply', file, '--json']]) {
      const r = hashify(args);
      const context = `hashify ${args.join(' ')}\nstderr: ${r.stderr}`;
      expect([context, r.status]).toEqual([context, 2]);
      expect(r.stderr).toMatch(message);
      // No result: nothing on stdout, or under --json the error alone.
      expect(args.includes('--json') ? JSON.parse(r.stdout).error.code : r.stdout).toEqual(args.includes('--json') ? expect.stringMatching(/^PLAN_/) : '');
      expect(r.stderr).not.toMatch(/Digest:|linked,|already done|Saved /);
    }
    // apply validated the plan before it touched anything.
    expect(fullSnapshot(t.root)).toEqual(before);
    expect(fs.existsSync(t.path('.hash'))).toBe(false);
    const leftovers = fs.readdirSync(dir).filter((n) => /\.(journal|lock)$|tmp/.test(n));
    expect(leftovers).toEqual([]);
  }

  let n = 0;
  function variant(bytes: Buffer | string): string {
    const file = join(dir, `variant-${n++}.plan.jsonl`);
    fs.writeFileSync(file, bytes);
    return file;
  }
  const at = (line: number, what: string) => new RegExp(`invalid at line ${line}: .*${what}`);

  test('truncated in the middle of a line', () => {
    const whole = toBytes(lines);
    const cut = toBytes(lines.slice(0, secondLink - 1)).length + 40;
    expectRefused(variant(whole.subarray(0, cut)), at(secondLink, 'no newline \\(truncated\\?\\)'));
  });

  test('truncated at a line boundary before the trailer', () => {
    expectRefused(variant(toBytes(lines.slice(0, secondLink))), at(secondLink, 'no trailer \\(truncated\\?\\)'));
  });

  test('one digit of a size in an op line edited', () => {
    // "size":"120" → "size":"220": the file no longer matches its target.
    const bytes = editByte(lines, firstLink - 1, '"size":"', 0, (d) => String((Number(d) % 9) + 1));
    expectRefused(variant(bytes), at(firstLink, 'differ in size'));
  });

  test('one character of a path in an op line edited', () => {
    const path = JSON.parse(lines[firstLink - 1]).path as string;
    expect(path.startsWith(t.path('a/'))).toBe(true);
    // "/…/a/one" → "/…/c/one": outside the roots, which the rules see.
    const outside = editByte(lines, firstLink - 1, '"path":"', t.root.length + 1, () => 'c');
    expectRefused(variant(outside), at(firstLink, `path "${t.path('c/')}.*" is outside the plan.s roots`));
    // "/…/a/one" → "/…/a/onx": still a path inside a root, so only the trailer integrity can tell.
    const inside = editByte(lines, firstLink - 1, '"path":"', path.length - 1, () => 'x');
    expectRefused(variant(inside), at(trailerLine, 'trailer integrity does not match the lines before it'));
  });

  test('missing trailer', () => {
    expectRefused(variant(toBytes(lines.slice(0, -1))), at(trailerLine - 1, 'no trailer'));
  });

  test('a line that is not JSON', () => {
    const broken = [...lines];
    broken[firstLink - 1] = broken[firstLink - 1].replace('"path":', '"path"');
    expectRefused(variant(toBytes(broken)), at(firstLink, 'not valid JSON'));
  });

  test('a header of version 1 (the format before copy-in) or 3', () => {
    expectRefused(variant(reseal(editLine(lines, 0, (h) => (h.version = 1)))), at(1, 'version 1 is not supported'));
    expectRefused(variant(reseal(editLine(lines, 0, (h) => (h.version = 3)))), at(1, 'version 3 is not supported'));
  });

  test('an empty file', () => {
    expectRefused(variant(''), at(1, 'empty'));
  });

  test('a directory, and a file that does not exist', () => {
    const d = join(dir, 'a-directory.plan.jsonl');
    fs.mkdirSync(d);
    expectRefused(d, /not a regular file/);
    expectRefused(join(dir, 'missing.plan.jsonl'), /does not exist/);
  });

  test('an op line duplicated', () => {
    const dup = [...lines.slice(0, firstLink), lines[firstLink - 1], ...lines.slice(firstLink)];
    expectRefused(variant(reseal(dup)), at(firstLink + 1, 'operation 0 where operation 1 was expected'));
  });

  test('two op lines swapped', () => {
    const swapped = [...lines];
    [swapped[firstLink - 1], swapped[secondLink - 1]] = [swapped[secondLink - 1], swapped[firstLink - 1]];
    expectRefused(variant(reseal(swapped)), at(firstLink, 'operation 1 where operation 0 was expected'));
  });

  test('a path outside the roots, with the trailer recomputed', () => {
    const edits: Array<[(rec: any) => void, string]> = [
      [(r) => (r.path = '/etc/passwd'), 'path "/etc/passwd" is outside the plan.s roots'],
      [(r) => (r.path = `${t.root}/b/../../../etc/passwd`), 'not an absolute path in normal form'],
      [(r) => (r.path = `${t.root}/b/../a/one`), 'not an absolute path in normal form'],
    ];
    for (const [edit, message] of edits) expectRefused(variant(reseal(editLine(lines, firstLink - 1, edit))), at(firstLink, message));
    // The keeper that a store record copies into the store is a path of the plan too.
    const store = firstLink - 1;
    expectRefused(variant(reseal(editLine(lines, store - 1, (r) => (r.keeper.path = '/etc/shadow')))), at(store, 'keeper.path "/etc/shadow" is outside'));
  });

  test('a path64 that does not match path, with the trailer recomputed', () => {
    const otherBytes = Buffer.concat([Buffer.from(t.path('b/one')), Buffer.from([0xff])]).toString('base64');
    expectRefused(variant(reseal(editLine(lines, firstLink - 1, (r) => (r.path64 = otherBytes)))), at(firstLink, 'path and path64 name different files'));
    const utf8 = Buffer.from(t.path('b/one')).toString('base64');
    expectRefused(variant(reseal(editLine(lines, firstLink - 1, (r) => (r.path64 = utf8)))), at(firstLink, 'path64 is given for a path that is valid UTF-8'));
  });

  test('bytes that are not UTF-8 where the plan has U+FFFD (they decode to the same text)', () => {
    const whole = toBytes(lines);
    const at8 = whole.indexOf(Buffer.from('caf\ufffd'));
    expect(at8).toBeGreaterThan(0);
    const line = whole.subarray(0, at8).toString().split('\n').length;
    const bad = Buffer.concat([whole.subarray(0, at8 + 3), Buffer.from([0xe9]), whole.subarray(at8 + 6)]);
    expect(bad.toString('utf8')).toBe(whole.toString('utf8'));
    expectRefused(variant(bad), at(line, 'not valid UTF-8'));
  });

  test('a trailer edited without changing its values, or with a count that does not match', () => {
    const spaced = [...lines];
    spaced[trailerLine - 1] = spaced[trailerLine - 1].replace('"files":', ' "files": ');
    expectRefused(variant(toBytes(spaced)), at(trailerLine, 'trailer is not in the form hashify writes'));
    const shared = editLine(lines, trailerLine - 1, (tr) => (tr.sharedInodes += 1));
    expectRefused(variant(toBytes(shared)), at(trailerLine, 'the trailer says sharedInodes 5 but the plan has 4'));
  });

  test('an inode number beyond 64 bits, with the trailer recomputed', () => {
    const inode = (ino: string) => variant(reseal(editLine(lines, firstLink - 1, (r) => (r.stat.ino = ino))));
    expectRefused(inode((1n << 64n).toString()), at(firstLink, 'stat.ino is larger than 64 bits'));
    expectRefused(inode('123456789012345678901234567890'), at(firstLink, 'field /stat/ino must match pattern'));
  });

  test('a time at either end of 64-bit signed nanoseconds are taken, one beyond either end is refused', () => {
    // atime: the one time no other rule compares (mtime must match the target's).
    const atime = (v: string) => variant(reseal(editLine(lines, secondLink - 1, (r) => (r.stat.atime = v))));
    for (const v of ['-9223372036854775808', '9223372036854775807']) {
      const r = hashify(['show', atime(v)]);
      expect([v, r.status, r.stderr]).toEqual([v, 0, '']);
    }
    expectRefused(atime('-9223372036854775809'), at(secondLink, 'stat.atime is out of range'));
    expectRefused(atime('9223372036854775808'), at(secondLink, 'stat.atime is out of range'));
    const size = (v: string) => variant(reseal(editLine(lines, firstLink - 1, (r) => (r.target.stat.dev = v))));
    expectRefused(size('18446744073709551616'), at(firstLink, 'target.stat.dev is larger than 64 bits'));
  });
});

describe('digests bind an approval to the exact bytes of a plan', () => {
  const t = makeTree({ 'a/x': 'same\n'.repeat(50), 'b/x': 'same\n'.repeat(50), 'a/y': 'other\n', 'b/y': 'other\n' });
  const plan = t.path('p.plan.jsonl');
  afterAll(() => t.cleanup());

  test('show --json reports the SRI sha256 of the file bytes, the same as plan --json', () => {
    const made = hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '--json']);
    expect(made.status).toBe(0);
    const digest = sri(fs.readFileSync(plan));
    expect(made.json().digest).toBe(digest);
    const shown = hashify(['show', plan, '--json']);
    expect(shown.status).toBe(0);
    expect(shown.json().digest).toBe(digest);
  });

  test('apply --expect with another digest exits 2 and changes nothing; with the right one it applies', () => {
    const digest = sri(fs.readFileSync(plan));
    const before = fullSnapshot(t.root);
    const oneCharOff = digest.slice(0, 12) + (digest[12] === 'A' ? 'B' : 'A') + digest.slice(13);
    const wrongs = [sri('something else'), oneCharOff, 'not-a-digest'];
    for (const wrong of wrongs) {
      const r = hashify(['apply', plan, '--expect', wrong, '--json']);
      expect([wrong, r.status]).toEqual([wrong, 2]);
      expect(Object.keys(JSON.parse(r.stdout))).toEqual(['error']);
      expect(r.stderr).toContain(wrong === 'not-a-digest' ? '"not-a-digest" is not a digest' : `has digest ${digest}, not the expected ${wrong}`);
      expect(fullSnapshot(t.root)).toEqual(before);
      expect(fs.existsSync(`${plan}.journal`)).toBe(false);
    }
    const ok = hashify(['apply', plan, '--expect', digest, '--json']);
    expect(ok.status).toBe(0);
    expect(ok.json()).toMatchObject({ digest, ops: 4, applied: 4, failed: 0, skipped: 0 });
    expect(fs.statSync(t.path('a/x')).ino).toBe(fs.statSync(t.path('b/x')).ino);
  });
});
