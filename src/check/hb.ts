import { doubledTo, grown } from '../runtime/grow-array.js';
import { KIND_MASK, opKind2, opObject, opObject2, opTouches, READ, SHARED, WRITE } from '../runtime/op.js';
import { MAX_THREADS } from './execution.js';
import { bit, lowest } from './thread-mask.js';

/** Stride of the per-step vector clocks. */
const S = MAX_THREADS;
/** The per-object tables, as the undo log names them (slot = index << 2 | table). */
const WRITES = 0;
const READS = 1;
const SHAREDS = 2;
/**
 * Index, in the per-object tables, of the fair-spin rules' yields: a spin
 * makes its thread yield to the threads eligible then, and every chosen step
 * releases its thread from the yields of others (Execution.beforeStep). So a
 * spin and another thread's step do not commute (in one order that thread is
 * yielded to, in the other not), though neither touches a shared object of
 * the model; two spins do not either, and two chosen steps do (each clears
 * its own thread). Hence a spin writes this object and a chosen step updates
 * it SHARED: DPOR then also reverses a spin with the steps of other threads
 * around it, which reach different traces once the yield orders what follows.
 * The model's objects come after it (index = id + 1).
 */
const YIELDS = 0;

/** Told about each race the happens-before tracker finds. */
export interface RaceSink {
  /**
   * Step `e` and the step being recorded (by thread `p`) are in a race: they
   * conflict and nothing else orders them. `initials` is the mask of threads
   * that could start the reversed ordering from the state before `e` (source
   * DPOR's I(notdep(e, E).p)); `j` is the step being recorded.
   */
  race(e: number, initials: number, p: number, j: number): void;
}

/**
 * Happens-before over the steps of one execution, with vector clocks, and the
 * race analysis of source-set DPOR (Abdulla, Aronis, Jonsson, Sagonas, POPL
 * 2014). A step's footprint is the op its thread announced before it: one or
 * two objects, each read, written or updated SHARED (an update that commutes
 * with the other SHARED ones: the read side of a lock); SPIN and LOCAL steps
 * touch no object of the model, but, with the fair-spin rules, a spin and
 * every chosen step touch their yields (see YIELDS). A step happens after:
 * the previous step of its thread; the steps that enabled it (a wake-up, a
 * release from its yields: enablers, never races); the last write to each
 * object it touches; if it reads, every SHARED update of that object since;
 * if it updates SHARED, every read since; if it writes, every read and update
 * since.
 *
 * Clocks hold, per thread, 1 + the index of that thread's latest step in the
 * causal past (0: none). Everything lives in typed arrays reused across
 * executions. A DFS's next execution replays the previous one's steps up to
 * the node it backtracks to: rollBack forgets only the steps after that
 * point (an undo log of the per-object tables), so the replayed steps are not
 * recorded, nor their races reported, a second time.
 */
export class HappensBefore {
  /** Vector clock of each step (row j at j*S), the step itself included. */
  private stepVC = new Int32Array(256 * S);
  /** Thread of each step. */
  private stepThread = new Int32Array(256);
  /** Index of each thread's latest step, or -1 (its clock is that step's). */
  readonly lastStep = new Int32Array(S).fill(-1);
  /** Steps recorded: [0, recorded). */
  private recorded = 0;
  /** Per step: its thread's latest step before it (lastStep then), for rollBack. */
  private prevLast = new Int32Array(256);
  /** Per step: where its entries in the undo log start. */
  private undoFrom = new Int32Array(256);
  /** Undo log of the per-object tables: slot (index << 2 | table), old value. */
  private undoSlot = new Int32Array(1024);
  private undoVal = new Int32Array(1024);
  /** Entries in the undo log. */
  private nUndo = 0;
  /** Per object (YIELDS, then each model object at its id + 1): step of its last write, or -1. */
  private objWrite = new Int32Array(64).fill(-1);
  /** Per object and thread (row o*S): that thread's last read since the last write, or -1. */
  private objReads = new Int32Array(64 * S).fill(-1);
  /** Per object and thread (row o*S): that thread's last SHARED update since the last write, or -1. */
  private objShared = new Int32Array(64 * S).fill(-1);
  /** Objects touched this execution: ids below this. */
  private nObj = 0;
  /** Scratch: clock of the step being recorded. */
  private readonly cur = new Int32Array(S);
  /** Scratch: the steps the one being recorded directly depends on. */
  private readonly cands = new Int32Array(4 * S + 4);
  /** Scratch: the races found for the step being recorded. */
  private readonly races = new Int32Array(4 * S + 4);
  /** Scratch for `initials`: first step of each thread in notdep(e). */
  private readonly firstV = new Int32Array(S);
  /** Scratch for `initials`: the threads that have a step in notdep(e) (firstV holds it). */
  private vSeen = 0;

  /** Forgets the previous execution. */
  reset(): void {
    this.lastStep.fill(-1);
    this.recorded = 0;
    this.nUndo = 0;
    this.objWrite.fill(-1, 0, this.nObj);
    this.objReads.fill(-1, 0, this.nObj * S);
    this.objShared.fill(-1, 0, this.nObj * S);
    this.nObj = 0;
  }

  /**
   * Records step `j`, run by thread `p` with footprint `op`, `enabler` and
   * `enabler2` being steps that enabled p since its previous step (a wake-up,
   * a release from the fair-spin rules' yields), or -1; `nThreads` threads exist.
   * `yieldAccess` is how the step touches the fair-spin rules' yields (see
   * YIELDS): WRITE for a spin, SHARED for a chosen step, or -1 for none.
   * Reports the races of step j with earlier steps to `sink`.
   */
  record(j: number, p: number, op: number, enabler: number, nThreads: number, sink: RaceSink, yieldAccess = -1, enabler2 = -1): void {
    if (j >= this.stepThread.length) this.growSteps(j + 1);
    const T = nThreads;
    const vc = this.stepVC;
    const cur = this.cur;
    if (j !== this.recorded) throw new RangeError(`happens-before: step ${j} recorded after ${this.recorded} steps`);
    const last = this.lastStep[p];
    if (last >= 0) for (let r = 0, lb = last * S; r < T; r++) cur[r] = vc[lb + r];
    else cur.fill(0, 0, T);
    if (enabler >= 0) joinRow(cur, vc, enabler * S, T);
    if (enabler2 >= 0) joinRow(cur, vc, enabler2 * S, T);
    const kind = op & KIND_MASK;
    // Objects by their index in the tables: the model's id + 1 (0 is YIELDS).
    let o1 = -1;
    let o2 = -1;
    let kind2 = kind;
    if (opTouches(op)) {
      o1 = opObject(op) + 1;
      o2 = opObject2(op) + 1;
      if (o2 === o1 || o2 === 0) o2 = -1;
      if (o2 >= 0) kind2 = opKind2(op);
      const top = Math.max(o1, o2) + 1;
      if (top > this.nObj) {
        if (top > this.objWrite.length) this.growObjects(top);
        this.nObj = top;
      }
    }
    if (yieldAccess >= 0 && this.nObj === 0) this.nObj = 1;
    if (o1 >= 0 || yieldAccess >= 0) {
      let nc = o1 >= 0 ? this.collect(o1, kind, T, 0) : 0;
      if (o2 >= 0) nc = this.collect(o2, kind2, T, nc);
      if (yieldAccess >= 0) nc = this.collect(YIELDS, yieldAccess, T, nc);
      // A dependency e is a race unless p's past or another dependency already orders it.
      const cands = this.cands;
      let nr = 0;
      for (let i = 0; i < nc; i++) {
        const e = cands[i];
        const te = this.stepThread[e];
        if (te === p || cur[te] > e) continue;
        let ordered = false;
        for (let i2 = 0; i2 < nc; i2++) {
          if (i2 !== i && vc[cands[i2] * S + te] > e) {
            ordered = true;
            break;
          }
        }
        if (!ordered) this.races[nr++] = e;
      }
      for (let i = 0; i < nc; i++) joinRow(cur, vc, cands[i] * S, T);
      cur[p] = j + 1;
      for (let i = 0; i < nr; i++) {
        const e = this.races[i];
        sink.race(e, this.initials(e, j, p), p, j);
      }
    } else {
      cur[p] = j + 1;
    }
    const jb = j * S;
    for (let r = 0; r < T; r++) vc[jb + r] = cur[r];
    this.stepThread[j] = p;
    this.prevLast[j] = last;
    this.lastStep[p] = j;
    this.recorded = j + 1;
    this.undoFrom[j] = this.nUndo;
    if (o1 >= 0) this.touch(o1, kind, j, p, T);
    if (o2 >= 0) this.touch(o2, kind2, j, p, T);
    if (yieldAccess >= 0) this.touch(YIELDS, yieldAccess, j, p, T);
  }

  /**
   * During RaceSink.race for step j racing with step e: the steps of
   * v = notdep(e, E) in order, then j: an order in which the reversed race can
   * be replayed (a wakeup sequence).
   */
  notdep(e: number, j: number): number[] {
    const vc = this.stepVC;
    const te = this.stepThread[e];
    const out: number[] = [];
    for (let m = e + 1; m < j; m++) if (vc[m * S + te] <= e) out.push(m);
    out.push(j);
    return out;
  }

  /**
   * During RaceSink.race for step j (by p) racing with step e (right after
   * `initials` was computed for it): those of `initials` whose first step in
   * v = notdep(e, E).p happens after none of
   * the steps from `from` up to e. They can start the reversed race as early
   * as the state before step `from`, and what then runs before e is v's
   * reordering alone. (An initial whose step depends on one of those steps
   * would reverse that dependency too: another trace.)
   */
  initialsFrom(p: number, initials: number, from: number, e: number): number {
    if (from >= e) return initials;
    let out = 0;
    let rest = initials;
    while (rest !== 0) {
      const q = lowest(rest);
      rest &= rest - 1;
      // q's first step in v, as `initials` found it for this race: a step after e, or p's step j.
      let clock: Int32Array;
      let base = 0;
      if ((this.vSeen & bit(q)) !== 0) {
        clock = this.stepVC;
        base = this.firstV[q] * S;
      } else if (q === p) clock = this.cur;
      else continue;
      let free = true;
      for (let s = from; s < e && free; s++) if (clock[base + this.stepThread[s]] > s) free = false;
      if (free) out |= bit(q);
    }
    return out;
  }

  /** Thread of step `m` (recorded). */
  threadOf(m: number): number {
    return this.stepThread[m];
  }

  /** Appends to `cands` (from `nc`) the earlier steps that conflict with an access of `kind` to `o`. */
  private collect(o: number, kind: number, T: number, nc: number): number {
    const cands = this.cands;
    const lw = this.objWrite[o];
    if (lw >= 0 && !has(cands, nc, lw)) cands[nc++] = lw;
    const rb = o * S;
    if (kind !== READ) {
      const reads = this.objReads;
      for (let q = 0; q < T; q++) {
        const r = reads[rb + q];
        if (r >= 0 && !has(cands, nc, r)) cands[nc++] = r;
      }
    }
    if (kind !== SHARED) {
      const shared = this.objShared;
      for (let q = 0; q < T; q++) {
        const r = shared[rb + q];
        if (r >= 0 && !has(cands, nc, r)) cands[nc++] = r;
      }
    }
    return nc;
  }

  private touch(o: number, kind: number, j: number, p: number, T: number): void {
    if (kind === WRITE) {
      this.set(WRITES, this.objWrite, o, j);
      const rb = o * S;
      for (let q = 0; q < T; q++) {
        if (this.objReads[rb + q] >= 0) this.set(READS, this.objReads, rb + q, -1);
        if (this.objShared[rb + q] >= 0) this.set(SHAREDS, this.objShared, rb + q, -1);
      }
    } else if (kind === READ) {
      this.set(READS, this.objReads, o * S + p, j);
    } else {
      this.set(SHAREDS, this.objShared, o * S + p, j);
    }
  }

  /** Sets `table[i] = v`, logging the old value for rollBack. */
  private set(which: number, table: Int32Array, i: number, v: number): void {
    const n = this.nUndo;
    if (n === this.undoSlot.length) this.growUndo();
    this.undoSlot[n] = (i << 2) | which;
    this.undoVal[n] = table[i];
    this.nUndo = n + 1;
    table[i] = v;
  }

  /**
   * Forgets the steps from `step` on, as if only [0, step) had been recorded:
   * the next execution replays those steps (a DFS backtracks deeper down the
   * same path), and their clocks and races are the same as this execution's.
   */
  rollBack(step: number): void {
    if (step >= this.recorded) return;
    if (step <= 0) {
      this.reset();
      return;
    }
    const from = this.undoFrom[step];
    for (let n = this.nUndo - 1; n >= from; n--) {
      const slot = this.undoSlot[n];
      const which = slot & 3;
      const table = which === WRITES ? this.objWrite : which === READS ? this.objReads : this.objShared;
      table[slot >> 2] = this.undoVal[n];
    }
    this.nUndo = from;
    for (let j = this.recorded - 1; j >= step; j--) this.lastStep[this.stepThread[j]] = this.prevLast[j];
    this.recorded = step;
  }

  /** Steps recorded so far. */
  get steps(): number {
    return this.recorded;
  }

  /**
   * The threads whose next step after the state before `e` is a first step of
   * v = notdep(e, E).p: the steps after e (up to j) that do not happen after e,
   * then p's step j (whose clock is in `cur`). A step is first in v when no
   * other step of v is in its causal past.
   */
  private initials(e: number, j: number, p: number): number {
    const vc = this.stepVC;
    const te = this.stepThread[e];
    const firstV = this.firstV;
    let seen = 0;
    let init = 0;
    for (let m = e + 1; m < j; m++) {
      const mb = m * S;
      if (vc[mb + te] > e) continue;
      const q = this.stepThread[m];
      if ((seen & bit(q)) !== 0) continue;
      if (!hasPredecessor(seen, firstV, vc, mb)) init |= bit(q);
      seen |= bit(q);
      firstV[q] = m;
    }
    this.vSeen = seen;
    if ((seen & bit(p)) === 0 && !hasPredecessor(seen, firstV, this.cur, 0)) init |= bit(p);
    return init;
  }

  private growSteps(n: number): void {
    const cap = doubledTo(this.stepThread.length, n);
    this.stepVC = grown(this.stepVC, cap * S);
    this.stepThread = grown(this.stepThread, cap);
    this.prevLast = grown(this.prevLast, cap);
    this.undoFrom = grown(this.undoFrom, cap);
  }

  private growUndo(): void {
    const cap = this.undoSlot.length * 2;
    this.undoSlot = grown(this.undoSlot, cap);
    this.undoVal = grown(this.undoVal, cap);
  }

  private growObjects(n: number): void {
    const cap = doubledTo(this.objWrite.length, n);
    this.objWrite = grown(this.objWrite, cap, -1);
    this.objReads = grown(this.objReads, cap * S, -1);
    this.objShared = grown(this.objShared, cap * S, -1);
  }
}

/** True when some thread of `seen` has its first v-step in the past of the clock at row `base` of `clock`. */
function hasPredecessor(seen: number, firstV: Int32Array, clock: Int32Array, base: number): boolean {
  let s = seen;
  while (s !== 0) {
    const r = lowest(s);
    s &= s - 1;
    if (firstV[r] < clock[base + r]) return true;
  }
  return false;
}

function joinRow(cur: Int32Array, vc: Int32Array, base: number, T: number): void {
  for (let r = 0; r < T; r++) {
    const v = vc[base + r];
    if (v > cur[r]) cur[r] = v;
  }
}

function has(a: Int32Array, n: number, v: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] === v) return true;
  return false;
}
