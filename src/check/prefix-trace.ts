import { doubledTo, grown } from '../runtime/grow-array.js';
import { KIND_MASK, opKind2, opObject, opObject2, opTouches, READ, SHARED, WRITE } from '../runtime/op.js';

/** murmur3's finaliser: a 32-bit mix. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Undo slots per step (see PrefixTrace.undo). */
const UNDO = 24;

/** What a step contributes, per lane, to the identity of a step that depends on it. */
function dep1(id: number): number {
  return fmix(id ^ 0x9e3779b9);
}
function dep2(id: number): number {
  return fmix(id + 0x7f4a7c15);
}

/**
 * The Mazurkiewicz trace of an execution's steps so far, as a 64-bit hash in
 * two 32-bit lanes, kept up to date step by step: two schedules get the same
 * hash when one is the other with adjacent commuting steps (their announced
 * ops do not conflict) swapped.
 *
 * Each step gets an identity from its thread, its op and the identities of the
 * steps it directly depends on: its thread's previous step and, per object it
 * touches, the last write and the reads or SHARED updates since that its
 * access conflicts with. Those are taken as a multiset (a commutative sum of
 * their mixes), so per object only the last write and the sums over the reads
 * and over the SHARED updates since are kept. The identity does not depend on
 * where in the schedule the step fell; the trace is the sum of its steps'
 * identities.
 */
export class PrefixTrace {
  /** The two lanes of the sum of the steps' identities. */
  lane1 = 0;
  lane2 = 0;
  /** Steps added since the last reset. */
  steps = 0;
  /**
   * Per step, what it changed as it was before (UNDO slots: the thread, its
   * three entries, each object touched with its eight, the two lanes), so
   * that rollBack can take steps off the end.
   */
  private undo = new Int32Array(UNDO * 256);
  /** Per thread: identity of its last step (two lanes); valid where `threadGen` is the current generation. */
  private readonly t1 = new Int32Array(32);
  private readonly t2 = new Int32Array(32);
  private readonly threadGen = new Int32Array(32);
  /**
   * Per object: the last write's identity, and the sums of the dependency
   * mixes of the reads and of the SHARED updates since it (two lanes each);
   * valid where `objGen` is the current generation (hasWrite: 1 once written).
   */
  private w1 = new Int32Array(64);
  private w2 = new Int32Array(64);
  private hasWrite = new Uint8Array(64);
  private r1 = new Int32Array(64);
  private r2 = new Int32Array(64);
  private s1 = new Int32Array(64);
  private s2 = new Int32Array(64);
  private objGen = new Int32Array(64);
  /** Bumped by reset(): entries of another generation are empty. */
  private gen = 1;
  /** Scratch: the dependency sums of the step being added. */
  private d1 = 0;
  private d2 = 0;

  /** Forgets every step: the next is the first of a new execution. */
  reset(): void {
    this.gen++;
    this.lane1 = 0;
    this.lane2 = 0;
    this.steps = 0;
  }

  /**
   * Keeps only the first `steps` steps: a DFS re-running a prefix of the
   * previous execution need not add its steps again.
   */
  rollBack(steps: number): void {
    if (steps <= 0) {
      this.reset();
      return;
    }
    const u = this.undo;
    for (let j = this.steps - 1; j >= steps; j--) {
      const b = UNDO * j;
      const th = u[b];
      this.t1[th] = u[b + 1];
      this.t2[th] = u[b + 2];
      this.threadGen[th] = u[b + 3];
      this.restore(u[b + 13], b + 14);
      this.restore(u[b + 4], b + 5);
      this.lane1 = u[b + 22] >>> 0;
      this.lane2 = u[b + 23] >>> 0;
    }
    this.steps = Math.min(this.steps, steps);
  }

  /** Adds the next step: `thread` ran a step that announced `op`. */
  step(thread: number, op: number): void {
    const gen = this.gen;
    this.d1 = 0;
    this.d2 = 0;
    if (this.threadGen[thread] === gen) {
      this.d1 = (this.d1 + dep1(this.t1[thread])) >>> 0;
      this.d2 = (this.d2 + dep2(this.t2[thread])) >>> 0;
    }
    const touches = opTouches(op);
    const o1 = touches ? opObject(op) : -1;
    const o2 = touches ? opObject2(op) : -1;
    const k1 = op & KIND_MASK;
    const k2 = o2 >= 0 ? opKind2(op) : 0;
    this.save(thread, o1, o2);
    if (o1 >= 0) this.dependOn(o1, k1);
    if (o2 >= 0) this.dependOn(o2, k2);
    const id1 = fmix(fmix(thread + 1) ^ Math.imul(op % 0x7fffffff, 0x27d4eb2d) ^ this.d1);
    const id2 = fmix(fmix(Math.floor(op / 0x7fffffff) + thread * 0x165667b1) ^ this.d2 ^ 0x5bd1e995);
    this.t1[thread] = id1;
    this.t2[thread] = id2;
    this.threadGen[thread] = gen;
    if (o1 >= 0) this.record(o1, k1, id1, id2);
    if (o2 >= 0) this.record(o2, k2, id1, id2);
    this.lane1 = (this.lane1 + id1) >>> 0;
    this.lane2 = (this.lane2 + id2) >>> 0;
    this.steps++;
  }

  /** Keeps what the next step will change (see `undo`). */
  private save(thread: number, o1: number, o2: number): void {
    if (UNDO * (this.steps + 1) > this.undo.length) this.undo = grown(this.undo, doubledTo(this.undo.length, UNDO * (this.steps + 1)));
    const u = this.undo;
    const b = UNDO * this.steps;
    u[b] = thread;
    u[b + 1] = this.t1[thread];
    u[b + 2] = this.t2[thread];
    u[b + 3] = this.threadGen[thread];
    this.keep(o1, b + 4);
    this.keep(o2, b + 13);
    u[b + 22] = this.lane1;
    u[b + 23] = this.lane2;
  }

  /** Keeps object o's entries (o < 0: none) at undo[b], undo[b+1..b+8]. */
  private keep(o: number, b: number): void {
    const u = this.undo;
    u[b] = o;
    if (o < 0) return;
    this.ensure(o);
    u[b + 1] = this.objGen[o];
    u[b + 2] = this.hasWrite[o];
    u[b + 3] = this.w1[o];
    u[b + 4] = this.w2[o];
    u[b + 5] = this.r1[o];
    u[b + 6] = this.r2[o];
    u[b + 7] = this.s1[o];
    u[b + 8] = this.s2[o];
  }

  /** Puts back object o's entries (o < 0: none) from undo[b..b+7]. */
  private restore(o: number, b: number): void {
    if (o < 0) return;
    const u = this.undo;
    this.objGen[o] = u[b];
    this.hasWrite[o] = u[b + 1];
    this.w1[o] = u[b + 2];
    this.w2[o] = u[b + 3];
    this.r1[o] = u[b + 4];
    this.r2[o] = u[b + 5];
    this.s1[o] = u[b + 6];
    this.s2[o] = u[b + 7];
  }

  /**
   * Folds `value` into the identity of `thread`'s last step: a value the
   * model drew in it that is not the same in every execution (an explored
   * draw). Its later steps, which depend on that one, carry it on.
   */
  amend(thread: number, value: number): void {
    if (thread < 0 || this.threadGen[thread] !== this.gen) {
      this.lane1 = fmix(this.lane1 ^ (value + 0x3c6ef372));
      return;
    }
    const id1 = fmix(this.t1[thread] ^ fmix(value + 0x3c6ef372));
    this.lane1 = (this.lane1 - (this.t1[thread] >>> 0) + id1) >>> 0;
    this.t1[thread] = id1;
  }

  /** Adds to d1/d2 the steps an access of kind `kind` to object `o` depends on. */
  private dependOn(o: number, kind: number): void {
    this.ensure(o);
    if (this.objGen[o] !== this.gen) return;
    if (this.hasWrite[o] === 1) {
      this.d1 = (this.d1 + dep1(this.w1[o])) >>> 0;
      this.d2 = (this.d2 + dep2(this.w2[o])) >>> 0;
    }
    if (kind !== READ) {
      this.d1 = (this.d1 + this.r1[o]) >>> 0;
      this.d2 = (this.d2 + this.r2[o]) >>> 0;
    }
    if (kind !== SHARED) {
      this.d1 = (this.d1 + this.s1[o]) >>> 0;
      this.d2 = (this.d2 + this.s2[o]) >>> 0;
    }
  }

  private record(o: number, kind: number, id1: number, id2: number): void {
    if (this.objGen[o] !== this.gen) {
      this.objGen[o] = this.gen;
      this.hasWrite[o] = 0;
      this.r1[o] = this.r2[o] = this.s1[o] = this.s2[o] = 0;
    }
    if (kind === WRITE) {
      this.w1[o] = id1;
      this.w2[o] = id2;
      this.hasWrite[o] = 1;
      this.r1[o] = this.r2[o] = this.s1[o] = this.s2[o] = 0;
    } else if (kind === READ) {
      this.r1[o] = (this.r1[o] >>> 0) + dep1(id1);
      this.r2[o] = (this.r2[o] >>> 0) + dep2(id2);
    } else {
      this.s1[o] = (this.s1[o] >>> 0) + dep1(id1);
      this.s2[o] = (this.s2[o] >>> 0) + dep2(id2);
    }
  }

  /** Makes room for object `o`. */
  private ensure(o: number): void {
    if (o < this.objGen.length) return;
    const cap = doubledTo(this.objGen.length, o + 1);
    this.w1 = grown(this.w1, cap);
    this.w2 = grown(this.w2, cap);
    this.hasWrite = grown(this.hasWrite, cap);
    this.r1 = grown(this.r1, cap);
    this.r2 = grown(this.r2, cap);
    this.s1 = grown(this.s1, cap);
    this.s2 = grown(this.s2, cap);
    this.objGen = grown(this.objGen, cap);
  }
}
