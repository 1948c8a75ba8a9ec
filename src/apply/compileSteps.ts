/**
 * A plan's records compiled into executor steps once, as they are validated (openPlan's
 * onRecord), so that apply reads no JSON twice: each group's target step, then one replace
 * step per operation, encoded as the executor takes them and kept in a UnitSpill:
 *   - a store entry to copy in (`keeper`): the checked keeper's bytes go into a new inode
 *     in the store, hashed from that inode and named only when they match;
 *   - an existing store entry, or (`--no-store`, reflink) the keeper: checked and held open;
 *   - an adopted keeper (`plan --adopt`): checked, held, and linked into the store.
 * Then per operation: temp link or clone, exchange, check, unlink. What depends on the
 * journal (which operations are left) or on the run (lanes, the plan's digest in temp names)
 * is settled when the steps are read back (src/apply/applySteps.ts).
 */
import { decodePath } from '../pathBytes.js';
import { EXP, K, Places, digestOf, encodeExpect, encodeXattrs, expectText, outsideRoots, placeOfRecord, type Step } from '../run/executor.js';
import { STEP_HEAD, fieldBytes, sizeOf, write, writeBuffer, writeHead, writeSlice, writeText } from '../run/stepCodec.js';
import type { HeaderRecord, LinkRecord, PlanRecord, StoreRecord } from '../planfile/records.js';
import { linkMethodOf, type LinkMethod } from './linkMethod.js';
import { UnitSpill } from './unitSpill.js';

/** A unit's kind: a group's target step, or an operation's replace step. */
export const U_TARGET = 1;
export const U_OP = 2;
/** Per unit: u32 step length, u8 kind, 3 bytes 0, u32 op, u32 group, u64 bytes copied in; then the step. */
export const UNIT_HEAD = 24;
/** Temp names are `.hashify-tmp-TAG-OP`: TAG (the plan's, tmpTag) is written in when read back. */
export const TMP_PREFIX = '.hashify-tmp-';
export const TAG_PLACEHOLDER = '000000000000';

/** The roots the executor opens for a plan: its roots, then its store. */
export function executorRoots(header: HeaderRecord): Buffer[] {
  const roots = header.roots.map((r) => decodePath(r));
  return header.store ? [...roots, decodePath(header.store)] : roots;
}

export class StepCompiler {
  readonly spill: UnitSpill;
  private places?: Places;
  private method?: LinkMethod;
  private store: StoreRecord | undefined;
  private group = -1;
  private targetDone = false;
  /** The group's entry place, for EMLINK: further entries are NAME-1, NAME-2, … */
  private entry: { sr: number; sd: Buffer; sn: Buffer } | undefined;

  /** spillMemory: the bytes of steps kept in memory before the spill's file is used (tests lower it). */
  constructor(private readonly verifyContent: boolean, spillMemory?: number) {
    this.spill = new UnitSpill(spillMemory);
  }

  /** Takes the plan's records in order (each already checked by openPlan), with the bytes of their own `path` when known. */
  readonly add = (rec: PlanRecord, path?: Buffer): void => {
    if (rec.type === 'header') {
      this.places = new Places(executorRoots(rec));
      this.method = linkMethodOf(rec.link);
    } else if (rec.type === 'store') {
      this.store = rec;
      this.group = rec.group;
      this.targetDone = false;
      const s = this.placeOf(rec, path);
      this.entry = this.method!.name === 'hardlink' ? { sr: s.r, sd: s.d, sn: Buffer.from(s.n.toString('latin1').replace(/-[0-9]+$/, ''), 'latin1') } : undefined;
    } else if (rec.type === 'link') {
      this.link(rec, path);
    }
  };

  private link(rec: LinkRecord, path: Buffer | undefined): void {
    if (rec.group !== this.group) {
      this.store = undefined;
      this.entry = undefined;
      this.group = rec.group;
      this.targetDone = false;
    }
    const { g, a } = digestOf(rec.integrity);
    if (!this.targetDone) {
      const step = this.targetStep(rec);
      this.put(U_TARGET, -1, step, step.bytes ?? 0n);
      this.targetDone = true;
    }
    // The replace step, written straight into the spill (the hot path: one per operation).
    const p = path ?? decodePath(rec);
    const places = this.places!;
    const r = places.locate(p);
    if (r < 0) throw outsideRoots(rec);
    const { relStart, slash } = places;
    const dirEnd = slash < 0 ? relStart : slash;
    const nameStart = slash < 0 ? relStart : slash + 1;
    const tmp = `${TMP_PREFIX}${TAG_PLACEHOLDER}-${rec.op}`;
    const e = expectText(rec.stat, EXP.inode | (this.verifyContent ? EXP.content : 0));
    const x = encodeXattrs(rec.xattrs);
    const s = this.entry;
    const size =
      STEP_HEAD + fieldBytes(dirEnd - relStart) + fieldBytes(p.length - nameStart) + fieldBytes(tmp.length) + fieldBytes(-1) +
      fieldBytes(s ? s.sd.length : -1) + fieldBytes(s ? s.sn.length : -1) + fieldBytes(e.length) + fieldBytes(g.length) + fieldBytes(x ? x.length : -1);
    const { buf, at } = this.unit(U_OP, rec.op, size, 0n);
    // The fields in stepCodec's order: d, n, t, t2, sd, sn, e, g, x.
    let o = writeHead({ k: this.method!.replaceKind, a, r, sr: s?.sr }, buf, at);
    o = writeSlice(p, relStart, dirEnd, buf, o);
    o = writeSlice(p, nameStart, p.length, buf, o);
    o = writeText(tmp, buf, o);
    o = writeBuffer(undefined, buf, o);
    o = writeBuffer(s?.sd, buf, o);
    o = writeBuffer(s?.sn, buf, o);
    o = writeText(e, buf, o);
    o = writeBuffer(g, buf, o);
    writeBuffer(x, buf, o);
  }

  private placeOf(rec: { path: string; path64?: string }, path?: Buffer) {
    return placeOfRecord(this.places!, rec, path);
  }

  /** The target step of a group (see the file comment). */
  private targetStep(first: LinkRecord): Step {
    const { g, a } = digestOf(first.integrity);
    const store = this.store;
    if (store?.keeper) {
      const s = this.placeOf(store);
      return {
        k: K.copyIn, ...this.placeOf(store.keeper), e: encodeExpect(store.keeper.stat, EXP.inode), g, a,
        x: encodeXattrs(store.keeper.xattrs), sr: s.r, sd: s.d, sn: s.n, bytes: BigInt(store.keeper.stat.size),
      };
    }
    if (store?.from) {
      const s = this.placeOf(store);
      return { k: K.target, ...this.placeOf(store.from), e: encodeExpect(store.stat!, EXP.inode), g, a, x: encodeXattrs(store.xattrs), lease: 1, sr: s.r, sd: s.d, sn: s.n };
    }
    const t = store ?? first.target;
    return { k: K.target, ...this.placeOf(t), e: encodeExpect(t.stat!, EXP.inode), g, a, x: encodeXattrs(t.xattrs), lease: store ? 0 : this.method!.targetFlags };
  }

  private put(kind: number, op: number, step: Step, bytes: bigint): void {
    const { buf, at } = this.unit(kind, op, sizeOf(step), bytes);
    write(step, buf, at);
  }

  /** Room for a unit whose step takes `size` bytes, its head written: where the step goes. */
  private unit(kind: number, op: number, size: number, bytes: bigint): { buf: Buffer; at: number } {
    const { buf, at } = this.spill.reserve(UNIT_HEAD + size);
    buf.writeUInt32LE(size, at);
    buf.writeUInt32LE(kind, at + 4);
    buf.writeInt32LE(op, at + 8);
    buf.writeInt32LE(this.group, at + 12);
    buf.writeBigUInt64LE(bytes, at + 16);
    return { buf, at: at + UNIT_HEAD };
  }
}
