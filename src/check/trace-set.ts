import { KIND_MASK, opKind2, opObject, opObject2, opTouches, READ, SHARED, WRITE } from '../runtime/op.js';
import type { Outcome } from './execution.js';

/** murmur3's finaliser: a 32-bit mix. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Steps of each object since its last write, by kind (event ids, two lanes each). */
class ObjectHistory {
  /** The last write: lanes, or none. */
  w1 = 0;
  w2 = 0;
  hasWrite = false;
  /** Reads since the last write. */
  readonly reads: number[] = [];
  /** SHARED updates since the last write. */
  readonly shared: number[] = [];
}

/**
 * Counts the distinct Mazurkiewicz traces among the executions a DFS runs:
 * two executions are the same trace when one is the other with adjacent
 * steps that commute (their announced ops do not conflict) swapped. Each step
 * gets an identity from its thread, its op and the identities of the steps it
 * directly depends on (its thread's previous step; per object it touches, the
 * last write, and the reads or SHARED updates since that its access conflicts
 * with), so it does not depend on where in the schedule the step fell; a
 * trace is the sum of its steps' identities (a multiset). 64 bits in two
 * 32-bit lanes, kept as a 53-bit number: a collision between two of a million
 * traces is about one chance in 10^4.
 *
 * Optimal DPOR runs each trace once: executions over distinct traces is how
 * many times over a bounded DFS (which cannot use sleep sets) runs them.
 */
export class TraceSet {
  private readonly seen = new Set<number>();
  /** Per thread: identity of its last step (two lanes), or 0. */
  private t1: number[] = [];
  private t2: number[] = [];
  private readonly objects = new Map<number, ObjectHistory>();
  /** The current execution's sum, per lane. */
  private sum1 = 0;
  private sum2 = 0;
  /** Scratch: the dependencies of the step being added, as lane pairs. */
  private readonly deps: number[] = [];

  /** Distinct traces among the executions that ran to an end (not cut as redundant). */
  get size(): number {
    return this.seen.size;
  }

  /** Adds the next step of the current execution. */
  step(thread: number, op: number): void {
    const deps = this.deps;
    deps.length = 0;
    if (this.t1[thread] !== undefined) deps.push(this.t1[thread]!, this.t2[thread]!);
    if (opTouches(op)) {
      this.dependOn(opObject(op), op & KIND_MASK);
      const o2 = opObject2(op);
      if (o2 >= 0) this.dependOn(o2, opKind2(op));
    }
    // The dependencies as a multiset: a commutative sum of their mixes.
    let d1 = 0;
    let d2 = 0;
    for (let i = 0; i < deps.length; i += 2) {
      d1 = (d1 + fmix(deps[i]! ^ 0x9e3779b9)) >>> 0;
      d2 = (d2 + fmix(deps[i + 1]! + 0x7f4a7c15)) >>> 0;
    }
    const id1 = fmix(fmix(thread + 1) ^ Math.imul(op % 0x7fffffff, 0x27d4eb2d) ^ d1);
    const id2 = fmix(fmix(Math.floor(op / 0x7fffffff) + thread * 0x165667b1) ^ d2 ^ 0x5bd1e995);
    this.t1[thread] = id1;
    this.t2[thread] = id2;
    if (opTouches(op)) {
      this.record(opObject(op), op & KIND_MASK, id1, id2);
      const o2 = opObject2(op);
      if (o2 >= 0) this.record(o2, opKind2(op), id1, id2);
    }
    this.sum1 = (this.sum1 + id1) >>> 0;
    this.sum2 = (this.sum2 + id2) >>> 0;
  }

  /** True when the trace `key` (as `end` returned it) was seen. */
  has(key: number): boolean {
    return this.seen.has(key);
  }

  /**
   * Ends the current execution: a complete one (or one cut at maxSteps, or at
   * a violation) counts. Returns its trace's key, or null when it does not count.
   */
  end(outcome: Outcome): number | null {
    const key = outcome !== 'redundant' && outcome !== 'model-bug' ? this.sum1 * 2 ** 21 + (this.sum2 >>> 11) : null;
    if (key !== null) this.seen.add(key);
    this.sum1 = 0;
    this.sum2 = 0;
    this.t1 = [];
    this.t2 = [];
    this.objects.clear();
    return key;
  }

  private history(o: number): ObjectHistory {
    let h = this.objects.get(o);
    if (h === undefined) this.objects.set(o, (h = new ObjectHistory()));
    return h;
  }

  /** The steps an access of kind `kind` to `o` depends on. */
  private dependOn(o: number, kind: number): void {
    const h = this.history(o);
    if (h.hasWrite) this.deps.push(h.w1, h.w2);
    if (kind !== READ) for (const v of h.reads) this.deps.push(v);
    if (kind !== SHARED) for (const v of h.shared) this.deps.push(v);
  }

  private record(o: number, kind: number, id1: number, id2: number): void {
    const h = this.history(o);
    if (kind === WRITE) {
      h.w1 = id1;
      h.w2 = id2;
      h.hasWrite = true;
      h.reads.length = 0;
      h.shared.length = 0;
    } else (kind === READ ? h.reads : h.shared).push(id1, id2);
  }
}
