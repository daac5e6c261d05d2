import { KIND_MASK, kindWrites, opKind2, opObject, opObject2, opTouches, SPIN } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Thread } from '../runtime/thread.js';

/** When a spinning thread counts as having something new to see. */
export type SpinProgress =
  /** another thread wrote one of the objects its last iteration touched (default) */
  | 'footprint'
  /** another thread announced any write at all (coarser: two spinners keep each other going) */
  | 'any-write';

/** Objects remembered per iteration; a longer iteration is never considered stuck. */
const MAX_FOOTPRINT = 64;

/**
 * Tells whether a thread about to spin would go round its retry loop for
 * nothing: since its previous spin, no other thread has written an object that
 * the iteration touched (announced ops: reads, writes, locks), so the next
 * iteration would see the same state. It keeps, per thread, the objects its
 * current iteration touched, and per object the two latest writers.
 */
export class SpinWatch {
  /** Per thread id: step of its last spin, or -1. */
  private readonly spinStep = new Int32Array(32);
  /** Per thread id: number of objects in its footprint, or -1 when too many to keep. */
  private readonly footN = new Int32Array(32);
  /** Per thread id (row t*MAX_FOOTPRINT): objects its current iteration touched. */
  private readonly foot = new Int32Array(32 * MAX_FOOTPRINT);
  /** Per object: the thread that wrote it last, or -1. */
  private w1 = new Int32Array(64).fill(-1);
  /** Per object: the step of that write. */
  private s1 = new Int32Array(64).fill(-1);
  /** Per object: the last writer other than w1, or -1. */
  private w2 = new Int32Array(64).fill(-1);
  /** Per object: the step of that write. */
  private s2 = new Int32Array(64).fill(-1);
  /** Objects below this id have been touched this execution. */
  private nObj = 0;

  constructor(private readonly mode: SpinProgress) {}

  /** Forgets the previous execution's objects (threads are reset as they appear, by addThread). */
  reset(): void {
    for (let o = 0; o < this.nObj; o++) {
      this.w1[o] = -1;
      this.s1[o] = -1;
      this.w2[o] = -1;
      this.s2[o] = -1;
    }
    this.nObj = 0;
  }

  /** Starts watching thread `id` (a new execution's, or one just spawned). */
  addThread(id: number): void {
    this.spinStep[id] = -1;
    this.footN[id] = 0;
  }

  /** Records step `j` of thread `t`, about to run with its announced op. */
  step(rt: Runtime, t: Thread, j: number): void {
    const op = t.op;
    const kind = op & KIND_MASK;
    const id = t.id;
    if (kind === SPIN) {
      t.lastSpinOthersWrites = rt.writes - t.ownWrites;
      this.spinStep[id] = j;
      this.footN[id] = 0;
      return;
    }
    if (!opTouches(op)) return;
    const o1 = opObject(op);
    const o2 = opObject2(op);
    this.touch(id, o1, kind, j);
    if (o2 >= 0 && o2 !== o1) this.touch(id, o2, opKind2(op), j);
  }

  private touch(t: number, o: number, kind: number, j: number): void {
    const n = this.footN[t];
    if (n >= 0) {
      const base = t * MAX_FOOTPRINT;
      let seen = false;
      for (let i = 0; i < n; i++) {
        if (this.foot[base + i] === o) {
          seen = true;
          break;
        }
      }
      if (!seen) {
        if (n === MAX_FOOTPRINT) this.footN[t] = -1;
        else {
          this.foot[base + n] = o;
          this.footN[t] = n + 1;
        }
      }
    }
    if (!kindWrites(kind)) return;
    if (o >= this.w1.length) this.grow(o + 1);
    if (o >= this.nObj) this.nObj = o + 1;
    if (this.w1[o] === t) {
      this.s1[o] = j;
    } else {
      this.w2[o] = this.w1[o];
      this.s2[o] = this.s1[o];
      this.w1[o] = t;
      this.s1[o] = j;
    }
  }

  /** True when `t` is about to spin and nothing it looked at changed since its previous spin. */
  stuck(rt: Runtime, t: Thread): boolean {
    if ((t.op & KIND_MASK) !== SPIN) return false;
    if (this.mode === 'any-write') return t.lastSpinOthersWrites === rt.writes - t.ownWrites;
    const id = t.id;
    const since = this.spinStep[id];
    const n = this.footN[id];
    if (since < 0 || n < 0) return false;
    const base = id * MAX_FOOTPRINT;
    for (let i = 0; i < n; i++) {
      const o = this.foot[base + i];
      if (o >= this.nObj) continue;
      const other = this.w1[o] !== id ? this.s1[o] : this.s2[o];
      if (other > since) return false;
    }
    return true;
  }

  private grow(n: number): void {
    let cap = this.w1.length;
    while (cap < n) cap *= 2;
    const g = (a: Int32Array) => {
      const b = new Int32Array(cap).fill(-1);
      b.set(a);
      return b;
    };
    this.w1 = g(this.w1);
    this.s1 = g(this.s1);
    this.w2 = g(this.w2);
    this.s2 = g(this.s2);
  }
}
