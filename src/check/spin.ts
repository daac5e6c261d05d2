import { KIND_MASK, kindWrites, opKind2, opObject, opObject2, opTouches, SHARED, SPIN, WRITE } from '../runtime/op.js';
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
 * The last two threads that changed each object in some way, with the steps:
 * enough to tell whether anyone other than a given thread changed it since a
 * given step.
 */
class LastChangers {
  /** Per object: the thread that changed it last, or -1. */
  private w1 = new Int32Array(64).fill(-1);
  /** Per object: the step of that change. */
  private s1 = new Int32Array(64).fill(-1);
  /** Per object: the last changer other than w1, or -1. */
  private w2 = new Int32Array(64).fill(-1);
  /** Per object: the step of that change. */
  private s2 = new Int32Array(64).fill(-1);

  clear(n: number): void {
    this.w1.fill(-1, 0, n);
    this.s1.fill(-1, 0, n);
    this.w2.fill(-1, 0, n);
    this.s2.fill(-1, 0, n);
  }

  record(o: number, t: number, j: number): void {
    if (o >= this.w1.length) this.grow(o + 1);
    if (this.w1[o] === t) {
      this.s1[o] = j;
    } else {
      this.w2[o] = this.w1[o];
      this.s2[o] = this.s1[o];
      this.w1[o] = t;
      this.s1[o] = j;
    }
  }

  /** True when a thread other than `t` changed `o` after step `since`. */
  changedByOther(o: number, t: number, since: number): boolean {
    if (o >= this.w1.length) return false;
    const other = this.w1[o] !== t ? this.s1[o] : this.s2[o];
    return other > since;
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

/**
 * Tells whether a thread about to spin would go round its retry loop for
 * nothing: since its previous spin, no other thread has changed an object the
 * iteration touched in a way the iteration could see (announced ops), so the
 * next iteration would see the same state. An object the iteration only
 * updated SHARED (took a lock for read, entered an SRCU section) looks the same
 * to it after other SHARED updates, which commute with its own: only a write
 * counts there. It keeps, per thread, the objects its current iteration
 * touched, and per object the two latest changers.
 */
export class SpinWatch {
  /** Per thread id: step of its last spin, or -1. */
  private readonly spinStep = new Int32Array(32);
  /** Per thread id: number of objects in its footprint, or -1 when too many to keep. */
  private readonly footN = new Int32Array(32);
  /**
   * Per thread id (row t*MAX_FOOTPRINT): objects its current iteration touched,
   * as object*2 + 1 when it only updated the object SHARED, object*2 otherwise.
   */
  private readonly foot = new Int32Array(32 * MAX_FOOTPRINT);
  /** Last writers and SHARED updaters of each object. */
  private readonly changers = new LastChangers();
  /** Last writers of each object. */
  private readonly writers = new LastChangers();
  /** Objects below this id have been touched this execution. */
  private nObj = 0;

  constructor(private readonly mode: SpinProgress) {}

  /** Forgets the previous execution's objects (threads are reset as they appear, by addThread). */
  reset(): void {
    this.changers.clear(this.nObj);
    this.writers.clear(this.nObj);
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
      const sharedOnly = kind === SHARED ? 1 : 0;
      let i = 0;
      for (; i < n; i++) if (this.foot[base + i] >> 1 === o) break;
      if (i < n) {
        // Seen before: it stays SHARED-only only if this access is SHARED too.
        this.foot[base + i] &= ~1 | sharedOnly;
      } else if (n === MAX_FOOTPRINT) {
        this.footN[t] = -1;
      } else {
        this.foot[base + n] = (o << 1) | sharedOnly;
        this.footN[t] = n + 1;
      }
    }
    if (!kindWrites(kind)) return;
    if (o >= this.nObj) this.nObj = o + 1;
    this.changers.record(o, t, j);
    if (kind === WRITE) this.writers.record(o, t, j);
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
      const e = this.foot[base + i];
      const o = e >> 1;
      if (o >= this.nObj) continue;
      const seen = (e & 1) === 1 ? this.writers : this.changers;
      if (seen.changedByOther(o, id, since)) return false;
    }
    return true;
  }
}
