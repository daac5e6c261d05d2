import { KIND_MASK, opKind2, opObject, opObject2, opTouches, opWrites, SHARED, WRITE } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Thread } from '../runtime/thread.js';

/** When a spinning thread counts as having something new to see. */
export type SpinProgress =
  /** another thread wrote one of the objects its last iteration touched (default) */
  | 'footprint'
  /** another thread announced any write at all (coarser: two spinners keep each other going) */
  | 'any-write';

/**
 * When a thread goes round its retry loop after a failed attempt (the model
 * announces SPIN: RET_PF_RETRY, a cancelled VM-entry).
 */
export type RetryRule =
  /**
   * only when no thread that is not retrying can run (default). The argument
   * (the model's, not a theorem): a failed attempt changes nothing another
   * thread acts on, so a schedule whose retry starts while others still run
   * repeats one whose first attempt starts there, which stays a choice. Given
   * up: a second or later attempt seeing a state only a running invalidation
   * shows (docs/checker.md, "Retries"; in short: README, "Retries").
   */
  | 'deferred'
  /** at any point the fair-spin rules allow */
  | 'interleaved';

/** Objects remembered per iteration; a longer iteration is never considered stuck. */
const MAX_FOOTPRINT = 64;
/** seenTo's mark for a footprint another thread has changed since the spin. */
const CHANGED = -1;

/**
 * Tells whether a thread about to spin would go round its retry loop for
 * nothing: since its previous spin, no other thread has changed an object the
 * iteration touched in a way the iteration could see (announced ops), so the
 * next iteration would see the same state. An object the iteration only
 * updated SHARED (took a lock for read, entered an SRCU section) looks the same
 * to it after other SHARED updates, which commute with its own: only a write
 * counts there.
 *
 * It works from the execution's record of steps (who ran each, with what op)
 * and only when asked: spins are rare, so nothing is kept per step. A thread
 * that stays stuck is asked again at every step; its iteration's objects are
 * worked out once, and each time only the steps since the last answer are
 * looked at.
 */
export class SpinWatch {
  /** Per thread id: step of its last spin, or -1. */
  private readonly spinStep = new Int32Array(32);
  /** Per thread id: the spin step its footprint was worked out after, or -2. */
  private readonly footAt = new Int32Array(32);
  /** Per thread id: number of objects in its footprint, or -1 when too many to keep. */
  private readonly footN = new Int32Array(32);
  /**
   * Per thread id (row t*MAX_FOOTPRINT): objects its last iteration touched,
   * as object*2 + 1 when it only updated the object SHARED, object*2 otherwise.
   */
  private readonly foot = new Int32Array(32 * MAX_FOOTPRINT);
  /**
   * Per thread id: other threads' steps before this one changed nothing in its
   * footprint; CHANGED once one did (the thread is not stuck until it spins again).
   */
  private readonly seenTo = new Int32Array(32);

  constructor(private readonly mode: SpinProgress) {}

  /** Starts watching thread `id` (a new execution's, or one just spawned). */
  addThread(id: number): void {
    this.spinStep[id] = -1;
    this.footAt[id] = -2;
  }

  /** Notes that thread `t` spins at step `j`: its next iteration starts. */
  spun(rt: Runtime, t: Thread, j: number): void {
    t.lastSpinOthersWrites = rt.writes - t.ownWrites;
    this.spinStep[t.id] = j;
  }

  /**
   * True when thread `id`, about to spin (its op is SPIN: the caller knows it
   * from its masks), has seen nothing it looked at change since its previous
   * spin. `who` and `ops` give, for each step before `now`, the thread that
   * ran it and the op it announced. The thread object is not read (but in
   * 'any-write' mode): the checker asks at every step while a thread spins.
   */
  stuck(rt: Runtime, id: number, who: readonly number[], ops: readonly number[], now: number): boolean {
    if (this.mode === 'any-write') {
      const t = rt.threads[id]!;
      return t.lastSpinOthersWrites === rt.writes - t.ownWrites;
    }
    const since = this.spinStep[id];
    if (since < 0) return false;
    if (this.footAt[id] !== since) this.gatherFootprint(id, since, who, ops, now);
    const n = this.footN[id];
    if (n < 0 || this.seenTo[id] === CHANGED) return false;
    const base = id * MAX_FOOTPRINT;
    for (let k = this.seenTo[id]; k < now; k++) {
      const op = ops[k];
      if (who[k] === id || !opWrites(op)) continue;
      const o1 = opObject(op);
      const k1 = op & KIND_MASK;
      const o2 = opObject2(op);
      const k2 = o2 >= 0 ? opKind2(op) : -1;
      for (let i = 0; i < n; i++) {
        const e = this.foot[base + i];
        const o = e >> 1;
        // A SHARED-only entry sees writes; any other entry sees SHARED updates too.
        if ((o === o1 && (k1 === WRITE || (k1 === SHARED && (e & 1) === 0))) || (o === o2 && (k2 === WRITE || (k2 === SHARED && (e & 1) === 0)))) {
          this.seenTo[id] = CHANGED;
          return false;
        }
      }
    }
    this.seenTo[id] = now;
    return true;
  }

  /** Works out the objects thread `id` touched in its steps after step `since`. */
  private gatherFootprint(id: number, since: number, who: readonly number[], ops: readonly number[], now: number): void {
    this.footAt[id] = since;
    this.seenTo[id] = since + 1;
    this.footN[id] = 0;
    for (let k = since + 1; k < now && this.footN[id] >= 0; k++) {
      if (who[k] !== id) continue;
      const op = ops[k];
      if (!opTouches(op)) continue;
      const o1 = opObject(op);
      const o2 = opObject2(op);
      this.touch(id, o1, op & KIND_MASK);
      if (o2 >= 0 && o2 !== o1) this.touch(id, o2, opKind2(op));
    }
  }

  private touch(t: number, o: number, kind: number): void {
    const n = this.footN[t];
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
}
