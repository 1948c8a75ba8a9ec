/**
 * A plan that an apply ran has a journal, the only way back: `plan -o` never writes over it,
 * whether the journal is FILE.journal, FILE.undo.journal or one named with apply --journal;
 * and the temp file a killed plan of FILE left is removed by the next.
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

function setup() {
  const t = makeTree({ 'r/a/x': 'one\n', 'r/b/x': 'one\n', 'r/a/y': 'two\n', 'r/b/y': 'two\n' });
  const p = t.path('p.plan.jsonl');
  expect(hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', p, '--no-cache', '-q']).status).toBe(0);
  return { t, p };
}

test('plan refuses (exit 2) to write over a plan whose apply left FILE.journal, and the plan is unchanged', () => {
  const { t, p } = setup();
  try {
    expect(hashify(['apply', p, '-q']).status).toBe(0);
    const before = fs.readFileSync(p);
    const r = hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', p, '--no-cache']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${p}.journal`);
    expect(r.stderr).toMatch(/only way to undo it/);
    expect(fs.readFileSync(p)).toEqual(before);
  } finally {
    t.cleanup();
  }
});

test('plan refuses to write over a plan with only an undo journal left', () => {
  const { t, p } = setup();
  try {
    fs.writeFileSync(`${p}.undo.journal`, '');
    const r = hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', p, '--no-cache']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${p}.undo.journal`);
  } finally {
    t.cleanup();
  }
});

test('apply --journal J records J beside the plan, and plan then refuses to write over that plan', () => {
  const { t, p } = setup();
  try {
    fs.mkdirSync(t.path('journals'));
    const j = t.path('journals/mine.journal');
    expect(hashify(['apply', p, '--journal', j, '-q']).status).toBe(0);
    expect(fs.existsSync(j)).toBe(true);
    expect(fs.readFileSync(`${p}.journals`, 'utf8')).toBe(JSON.stringify(j) + '\n');
    const r = hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', p, '--no-cache']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(j);
  } finally {
    t.cleanup();
  }
});

test('a plan without a journal is replaced as before', () => {
  const { t, p } = setup();
  try {
    const r = hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', p, '--no-cache', '-q']);
    expect(r.status).toBe(0);
  } finally {
    t.cleanup();
  }
});

test("a plan killed before its rename left .FILE.tmp-PID: the next plan of FILE removes it, and keeps a live process's and what is not a file", () => {
  const { t, p } = setup();
  try {
    const gone = spawnSync('true').pid!;
    expect(fs.existsSync(`/proc/${gone}`)).toBe(false);
    const dir = t.path('');
    const base = p.slice(p.lastIndexOf('/') + 1);
    fs.writeFileSync(`${dir}/.${base}.tmp-${gone}`, 'half a plan');
    fs.writeFileSync(`${dir}/.${base}.tmp-${process.pid}`, 'a live plan writing');
    fs.mkdirSync(`${dir}/.${base}.tmp-${gone}0`);
    fs.writeFileSync(`${dir}/.other.plan.jsonl.tmp-${gone}`, 'another plan');
    expect(hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', p, '--no-cache', '-q']).status).toBe(0);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')).sort()).toEqual([`.${base}.tmp-${gone}0`, `.${base}.tmp-${process.pid}`, `.other.plan.jsonl.tmp-${gone}`].sort());
  } finally {
    t.cleanup();
  }
});
