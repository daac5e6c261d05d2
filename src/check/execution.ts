import type { Instance, Violation } from '../runtime/instance.js';
import { LOCAL, opKind, SPIN } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';

/** Most threads a model may have: thread sets are 32-bit masks. */
export const MAX_THREADS = 32;

/** Why an execution ended. */
export type Outcome =
  /** every thread finished and no violation was seen */
  | 'complete'
  /** a violation: the model's oracle, or the checker's deadlock or livelock */
  | 'violation'
  /** maxSteps was reached while nothing was awaited: cut short, not a bug */
  | 'truncated'
  /** the strategy cut it: what follows is equivalent to something already run */
  | 'redundant'
  /** the model threw: a ModelBug, or any other exception */
  | 'model-bug';

/**
 * The execution in progress, as the explore loop and the strategies see it. One
 * object is reused for every execution of a run, so that the hot loop allocates
 * nothing per step.
 */
export class Execution {
  /** The instance being run. */
  inst: Instance = null as unknown as Instance;
  /** Its runtime. */
  rt: Runtime = null as unknown as Runtime;
  /** Number of this execution in the run, from 0. */
  index = -1;
  /** Steps run so far (the index of the next step). */
  step = 0;
  /** Threads that may be chosen now, in id order; filled before each choice. */
  readonly eligible: Thread[] = [];
  /** Runnable threads left out of `eligible` because they spin without progress. */
  stuck = 0;
  /** Mask (by thread id) of the threads in `eligible`. */
  eligibleMask = 0;
  /**
   * Per thread id: the threads it yielded to at its last spin (a mask) that have
   * not run a step since; while one of them can run, it may not (fair scheduling).
   */
  readonly yieldTo: number[] = [];
  /** Thread that ran the previous step, or null before the first. */
  prev: Thread | null = null;
  /** Choosing another thread than `prev` now would be a preemption. */
  prevPreemptible = false;
  /** Preemptions so far. */
  preemptions = 0;
  /** Context switches so far (preemptive or not). */
  switches = 0;
  /** Thread id chosen at each step so far. */
  readonly choices: number[] = [];
  /** Each draw the model made so far, in order. */
  readonly draws: number[] = [];
  /** The op announced for each step, when recorded (replays), else null. */
  ops: number[] | null = null;
  /** Per thread id: the step during which it was last woken, or -1. */
  readonly wokenAt: number[] = [];
  /** The fair-spin rules are on (see computeEligible); set by the runner. */
  fairSpin = true;
  /** The model's exception, when the outcome is 'model-bug'. */
  error: unknown = null;

  /** Prepares for a new execution of `inst`. */
  start(inst: Instance, index: number): void {
    this.inst = inst;
    this.rt = inst.rt;
    this.index = index;
    this.step = 0;
    this.eligible.length = 0;
    this.stuck = 0;
    this.eligibleMask = 0;
    this.yieldTo.length = 0;
    this.prev = null;
    this.prevPreemptible = false;
    this.preemptions = 0;
    this.switches = 0;
    this.choices.length = 0;
    this.draws.length = 0;
    this.ops = null;
    this.wokenAt.length = 0;
    this.error = null;
  }

  /**
   * Fills `eligible` with the threads that may run now. With `fairSpin`, two
   * rules keep retry loops from running forever (after CHESS's fair scheduler,
   * Musuvathi and Qadeer, PLDI 2008):
   * - a thread about to spin (its op is SPIN) while no other thread has
   *   announced a write since its previous spin is stuck: its next iteration
   *   would re-read the same state. It is left out and counted in `stuck`.
   * - a thread that spun yields to the threads eligible at that moment: it is
   *   left out while one of them has not run since and could run now.
   */
  computeEligible(fairSpin: boolean): void {
    const rt = this.rt;
    const ts = rt.threads;
    const el = this.eligible;
    el.length = 0;
    if (ts.length > MAX_THREADS) {
      throw new RangeError(`checker: at most ${MAX_THREADS} threads, the model has ${ts.length}`);
    }
    // A thread spawned during the previous step counts as woken by it.
    while (this.wokenAt.length < ts.length) this.wokenAt.push(this.step - 1);
    while (this.yieldTo.length < ts.length) this.yieldTo.push(0);
    let stuck = 0;
    let live = 0;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (t.state !== 'runnable') continue;
      if (fairSpin && isStuck(rt, t)) stuck++;
      else live |= 1 << i;
    }
    let mask = 0;
    for (let i = 0; i < ts.length; i++) {
      if ((live & (1 << i)) === 0 || (this.yieldTo[i]! & live) !== 0) continue;
      el.push(ts[i]!);
      mask |= 1 << i;
    }
    this.stuck = stuck;
    this.eligibleMask = mask;
    const p = this.prev;
    this.prevPreemptible = p !== null && (mask & (1 << p.id)) !== 0 && opKind(p.op) !== SPIN;
  }

  /** The first eligible thread whose next step is LOCAL, or null. */
  localStep(): Thread | null {
    const el = this.eligible;
    for (let i = 0; i < el.length; i++) if ((el[i]!.op & 3) === LOCAL) return el[i]!;
    return null;
  }

  /**
   * Book-keeping before `t` runs the next step: spin progress, yields, the
   * choice. A `forced` step (LOCAL) is no context switch: `prev` stays.
   */
  beforeStep(t: Thread, forced: boolean): void {
    const p = this.prev;
    if (!forced) {
      if (p !== null && p !== t) {
        this.switches++;
        if (this.prevPreemptible) this.preemptions++;
      }
      this.prev = t;
    }
    const y = this.yieldTo;
    const me = 1 << t.id;
    for (let i = 0; i < y.length; i++) y[i]! &= ~me;
    if (opKind(t.op) === SPIN) {
      t.lastSpinOthersWrites = this.rt.writes - t.ownWrites;
      if (this.fairSpin) y[t.id] = this.eligibleMask & ~me;
    }
    this.choices.push(t.id);
    if (this.ops !== null) this.ops.push(t.op);
  }

  /** The schedule run so far, copied. */
  schedule(): Schedule {
    return { choices: this.choices.slice(), draws: this.draws.slice() };
  }

  /** Records a violation found by the checker itself (deadlock, livelock). */
  addViolation(kind: string, thread: Thread | null, message: string): void {
    const v: Violation = {
      kind,
      thread: thread?.name ?? '',
      timeNs: this.rt.now(),
      step: this.rt.steps,
      message,
    };
    this.inst.violations.push(v);
  }
}

/** True when `t` spins and nobody else has announced a write since its previous spin. */
export function isStuck(rt: Runtime, t: Thread): boolean {
  return (t.op & 3) === SPIN && t.lastSpinOthersWrites === rt.writes - t.ownWrites;
}
