/**
 * apply reads its plan once: each record is compiled into executor steps as it is validated
 * (src/apply/compileSteps.ts), kept in memory up to a bound and beyond it in an unlinked
 * file (src/apply/unitSpill.ts). The steps read back are those of the plan as validated:
 * a plan file rewritten after validation changes nothing; one spilled to the file gives
 * exactly the run (journal, tree) of one held in memory.
 */
import * as fs from 'node:fs';
import { makeTree, type Entry } from '../helpers/tree.js';
import { planInProcess } from '../helpers/plan.js';
import { contentAndMetadata, sharing } from '../helpers/crashHook.js';
import { UnitSpill } from '../../src/apply/unitSpill.js';
import { applyPlan, openForApply, type ApplyPlanFile } from '../../src/apply/applyPlan.js';
import { openExecutor } from '../../src/cli/apply.js';
import { readJournal, JournalWriter } from '../../src/journal/journal.js';
import { decodeFrames } from '../../src/journal/frame.js';
import { openPlan } from '../../src/planfile/readPlan.js';
import { EXP, K, Places, digestOf, encodeExpect, encodeXattrs } from '../../src/run/executor.js';
import { encodeStep } from '../../src/run/stepCodec.js';
import { TAG_PLACEHOLDER, TMP_PREFIX, UNIT_HEAD, U_OP, executorRoots } from '../../src/apply/compileSteps.js';
import { linkMethodOf } from '../../src/apply/linkMethod.js';
import { decodePath } from '../../src/pathBytes.js';

const ROOTS = ['g0', 'g1'];

function spec(): Record<string, Entry> {
  const s: Record<string, Entry> = {};
  for (const g of ROOTS) for (let i = 0; i < 30; i++) s[`${g}/d${i % 5}/f${i}`] = `content ${i}\n`.repeat(1 + i * 3);
  return s;
}

async function fixture() {
  const t = makeTree(spec());
  const plan = t.path('p.plan.jsonl');
  await planInProcess(ROOTS.map((r) => t.path(r)), plan);
  return { t, plan };
}

async function applyOpened(plan: ApplyPlanFile): Promise<{ applied: number; failed: number; skipped: number }> {
  const journalFile = `${plan.file}.journal`;
  const state = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
  const journal = new JournalWriter(journalFile, plan.digest, 'apply', state.valid, state.exists);
  const { exec } = openExecutor(plan);
  try {
    return await applyPlan(plan, { exec, journal, state, onDrift: 'skip', verifyContent: false, stopRequested: () => undefined, batch: 8 });
  } finally {
    journal.checkpoint();
    journal.close();
    exec.close();
    plan.close();
  }
}

const journalOf = (planFile: string) =>
  decodeFrames(fs.readFileSync(`${planFile}.journal`)).records.map((r) => {
    const rec = r as Record<string, unknown>;
    return rec.t === 'run' || rec.t === 'header' ? { t: rec.t } : rec.t === 'entry' ? { t: 'entry', group: rec.group } : rec;
  });

/** Every operation's step as the object-built encoding makes it (the oracle for the direct writer). */
function objectSteps(file: string, verifyContent: boolean): Buffer[] {
  const plan = openPlan(file);
  const out: Buffer[] = [];
  try {
    let places: Places | undefined;
    let kind: number = K.link;
    let entry: { sr: number; sd: Buffer; sn: Buffer } | undefined;
    for (const rec of plan.records()) {
      if (rec.type === 'header') {
        places = new Places(executorRoots(rec));
        kind = linkMethodOf(rec.link).replaceKind;
      } else if (rec.type === 'store') {
        const s = places!.place(decodePath(rec))!;
        entry = { sr: s.r, sd: s.d, sn: s.n };
      } else if (rec.type === 'link') {
        if (!plan.header.store) entry = undefined;
        const { g, a } = digestOf(rec.integrity);
        const e = encodeExpect(rec.stat, EXP.inode | (verifyContent ? EXP.content : 0));
        const t = Buffer.from(`${TMP_PREFIX}${TAG_PLACEHOLDER}-${rec.op}`);
        out.push(encodeStep({ k: kind, ...places!.place(decodePath(rec))!, t, e, g, a, x: encodeXattrs(rec.xattrs), sr: entry?.sr, sd: entry?.sd, sn: entry?.sn }));
      }
    }
  } finally {
    plan.close();
  }
  return out;
}

/** The operation steps compiled for a plan. */
function compiledSteps(file: string, verifyContent: boolean): Buffer[] {
  const plan = openForApply(file, { verifyContent });
  const out: Buffer[] = [];
  try {
    for (const chunk of plan.compiled.spill.read()) {
      for (let at = 0; at < chunk.length; ) {
        const len = chunk.readUInt32LE(at);
        if (chunk.readUInt32LE(at + 4) === U_OP) out.push(Buffer.from(chunk.subarray(at + UNIT_HEAD, at + UNIT_HEAD + len)));
        at += UNIT_HEAD + len;
      }
    }
  } finally {
    plan.compiled.spill.close();
    plan.close();
  }
  return out;
}

describe('compiled steps', () => {
  test('each operation step is written exactly as a step object encodes: files in a root and deeper, xattrs, store and no store', async () => {
    const t = makeTree({
      'g0/top': 'same at the top\n',
      'g1/top': 'same at the top\n',
      'g0/a/b/c/deep': { content: 'deep\n'.repeat(9), xattrs: { 'user.k': 'v' } },
      'g1/a/b/c/deep': { content: 'deep\n'.repeat(9), xattrs: { 'user.k': 'v' } },
      'g0/d/f': 'f\n'.repeat(40),
      'g1/e/f': 'f\n'.repeat(40),
    });
    try {
      for (const noStore of [false, true]) {
        const file = t.path(`p${noStore}.plan.jsonl`);
        await planInProcess(ROOTS.map((r) => t.path(r)), file, { noStore });
        for (const verify of [false, true]) {
          const want = objectSteps(file, verify);
          expect(want.length).toBe(noStore ? 3 : 6);
          expect(compiledSteps(file, verify)).toEqual(want);
        }
      }
    } finally {
      t.cleanup();
    }
  });

  test('a spill reads back every record whole and in order, beyond its memory bound from its file', () => {
    const spill = new UnitSpill(3 << 20);
    const sizes: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const size = 200 + ((i * 7919) % 3000);
      const { buf, at } = spill.reserve(size);
      buf.fill(i % 251, at, at + size);
      buf.writeUInt32LE(i, at);
      sizes.push(size);
    }
    expect(spill.usage().memory).toBeLessThanOrEqual(3 << 20);
    expect(spill.usage().file).toBeGreaterThan(0);
    let i = 0;
    for (const chunk of spill.read()) {
      for (let at = 0; at < chunk.length; at += sizes[i++]) {
        expect(chunk.readUInt32LE(at)).toBe(i);
        expect(chunk[at + sizes[i] - 1]).toBe(i % 251);
      }
    }
    expect(i).toBe(4000);
  });

  test('a plan rewritten after it was validated changes nothing: the validated steps run', async () => {
    const f = await fixture();
    try {
      const before = contentAndMetadata(f.t.root, ROOTS);
      const plan = openForApply(f.plan, { verifyContent: false });
      // Same length, another guest's paths: a reader that went back to the file would act on g1x.
      const text = fs.readFileSync(f.plan, 'latin1');
      fs.writeFileSync(f.plan, text.replaceAll('/g1/', '/g1x/'), 'latin1');
      fs.renameSync(f.t.path('g1'), f.t.path('g1x'));
      fs.mkdirSync(f.t.path('g1'));
      const counts = await applyOpened(plan);
      expect(counts).toMatchObject({ failed: 0 });
      // Every g1 path is gone (renamed away): those operations drift, none acts on g1x.
      expect(counts.skipped).toBeGreaterThan(0);
      fs.rmdirSync(f.t.path('g1'));
      fs.renameSync(f.t.path('g1x'), f.t.path('g1'));
      expect(contentAndMetadata(f.t.root, ROOTS)).toEqual(before);
      // No g1 file was relinked: each still has its one link.
      const g1 = [...Array(30).keys()].map((i) => fs.statSync(f.t.path(`g1/d${i % 5}/f${i}`)).nlink);
      expect(g1.every((n) => n === 1)).toBe(true);
    } finally {
      f.t.cleanup();
    }
  });

  test('steps spilled to the file run exactly as steps held in memory', async () => {
    const a = await fixture();
    const b = await fixture();
    try {
      const inMemory = openForApply(a.plan, { verifyContent: false });
      const spilled = openForApply(b.plan, { verifyContent: false, spillMemory: 1 });
      expect(await applyOpened(inMemory)).toMatchObject({ failed: 0, skipped: 0 });
      expect(await applyOpened(spilled)).toMatchObject({ failed: 0, skipped: 0 });
      expect(inMemory.compiled.spill.usage()).toMatchObject({ file: 0 });
      expect(spilled.compiled.spill.usage()).toMatchObject({ memory: 0, file: expect.any(Number) });
      expect(spilled.compiled.spill.usage().file).toBeGreaterThan(0);
      expect(journalOf(b.plan)).toEqual(journalOf(a.plan));
      expect(sharing(b.t.root, [...ROOTS, '.hash'])).toEqual(sharing(a.t.root, [...ROOTS, '.hash']));
    } finally {
      a.t.cleanup();
      b.t.cleanup();
    }
  });
});
