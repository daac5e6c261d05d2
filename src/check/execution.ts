import type { Instance, Violation } from '../runtime/instance.js';
import { KIND_MASK, LOCAL, SPIN } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import { type RetryRule, type SpinProgress, SpinWatch } from './spin.js';
import { lowest } from './thread-mask.js';

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
 * object is reused for every execution of a run: its arrays only grow, and
 * counters say how much of each is in use, so that the hot loop allocates
 * nothing per step.
 */
export class Execution {
  /** The instance being run. */
  inst: Instance = null as unknown as Instance;
  /** Its runtime. */
  rt: Runtime = null as unknown as Runtime;
  /** Number of this execution in the run, from 0. */
  index = -1;
  /** Steps run so far: the index of the next step, and the length of `choices`. */
  step = 0;
  /** Threads that may be chosen now, in id order: entries [0, nEligible). */
  readonly eligible: Thread[] = [];
  /** Number of entries of `eligible` in use (at least 1 when a strategy is asked). */
  nEligible = 0;
  /** Mask (by thread id) of the threads in `eligible`. */
  eligibleMask = 0;
  /** Runnable threads left out of `eligible` because they spin without progress. */
  stuck = 0;
  /** Mask of those threads. */
  stuckMask = 0;
  /** Mask of the runnable threads, kept up to date step by step (afterStep, woke, know). */
  private runnable = 0;
  /** Mask of the threads whose announced op is SPIN. */
  private spinning = 0;
  /** Mask of the threads whose announced op is LOCAL or SPIN: steps taken at once. */
  private quiet = 0;
  /** Threads whose last step was a spin: switching away from one is no preemption. */
  spun = 0;
  /** Threads allowed one more iteration although they look stuck (see grantProbation). */
  probation = 0;
  /** Threads whose last iteration was such a probation iteration. */
  lastWasProbation = 0;
  /** Thread that ran the previous step (not counting local steps), or null before the first. */
  prev: Thread | null = null;
  /** Choosing another thread than `prev` now would be a preemption. */
  prevPreemptible = false;
  /** Preemptions so far. */
  preemptions = 0;
  /** Context switches so far (preemptive or not). */
  switches = 0;
  /** Thread id chosen at each step: entries [0, step). */
  readonly choices: number[] = [];
  /** Each draw the model made, in order: entries [0, nDraws). */
  readonly draws: number[] = [];
  /** Number of draws so far. */
  nDraws = 0;
  /** The op announced at each step: entries [0, step). */
  readonly ops: number[] = [];
  /** Threads known to this execution (wokenAt and yieldTo cover them). */
  nKnown = 0;
  /** Per thread id: the step during which it was last woken (or spawned), or -1. */
  readonly wokenAt: number[] = [];
  /**
   * Per thread id: the step that last released it from its yields (the last
   * of the threads it yielded to ran), or -1: with the fair-spin rules, that
   * step enables its next one, as a wake-up does.
   */
  readonly releasedAt: number[] = [];
  /**
   * Per thread id: the threads it yielded to at its last spin (a mask) that have
   * not run a step since; while one of them can run, it may not (fair scheduling).
   */
  readonly yieldTo: number[] = [];
  /** Mask of the threads whose yieldTo is not empty. */
  yielding = 0;
  /** The fair-spin rules are on (see computeEligible); set by the runner. */
  fairSpin = true;
  /** What counts as progress for a spinning thread; set by the runner. */
  spinProgress: SpinProgress = 'footprint';
  /** Retries deferred (RetryRule): a thread about to spin waits while another can run; set by the runner. */
  private deferRetries = true;
  /** Tells spinning threads that would see nothing new. */
  private spin = new SpinWatch('footprint');
  /** The model's exception, when the outcome is 'model-bug'. */
  error: unknown = null;
  /**
   * The model threw in the middle of step `step` (not in its end-of-run
   * checks): that step was chosen but never counted, and a replay must run it
   * to throw again (see schedule).
   */
  threwInStep = false;

  /** Prepares for a new execution of `inst`. */
  start(inst: Instance, index: number): void {
    this.inst = inst;
    this.rt = inst.rt;
    // The order of steps is the strategy's: time must not tell commuting orders apart.
    inst.rt.localTime = true;
    this.index = index;
    this.step = 0;
    this.nEligible = 0;
    this.eligibleMask = 0;
    this.runnable = 0;
    this.spinning = 0;
    this.quiet = 0;
    this.stuck = 0;
    this.stuckMask = 0;
    this.probation = 0;
    this.lastWasProbation = 0;
    this.prev = null;
    this.prevPreemptible = false;
    this.preemptions = 0;
    this.switches = 0;
    this.nDraws = 0;
    this.nKnown = 0;
    this.yielding = 0;
    this.spun = 0;
    this.error = null;
    this.threwInStep = false;
  }

  /** Sets the fair-spin rules of the executions to come. */
  configure(fairSpin: boolean, spinProgress: SpinProgress, retries: RetryRule): void {
    this.fairSpin = fairSpin;
    this.deferRetries = retries === 'deferred';
    if (spinProgress !== this.spinProgress) {
      this.spinProgress = spinProgress;
      this.spin = new SpinWatch(spinProgress);
    }
  }

  /**
   * Fills `eligible` with the threads that may run now. With `fairSpin`, two
   * rules keep retry loops from running forever (after CHESS's fair scheduler,
   * Musuvathi and Qadeer, PLDI 2008):
   * - a thread about to spin (its op is SPIN) is stuck when no other thread
   *   has written what its last iteration touched (or, with spinProgress
   *   'any-write', anything at all) since its previous spin: its next
   *   iteration would see the same state. It is left out, counted in `stuck`.
   * - a thread that spun yields to the threads eligible at that moment: it is
   *   left out while one of them has not run since and could run now.
   * With retries 'deferred', a third: a thread about to spin is left out while
   * a thread that is not about to spin can run (see RetryRule). Its retry
   * then comes when the others are done or wait, on it or on each other.
   */
  computeEligible(): void {
    const rt = this.rt;
    const ts = rt.threads;
    if (ts.length > this.nKnown) this.know(ts.length);
    let live = this.runnable;
    let stuck = 0;
    let stuckMask = 0;
    // With retries deferred, threads about to spin are left out while another
    // can run, stuck or not: which of them are stuck is then worked out only if
    // nothing can run after all (the yields below). SpinWatch's answer for a
    // step does not depend on whether it was asked at the steps before.
    let unasked = false;
    if (this.fairSpin) {
      if (this.deferRetries && (live & ~this.spinning) !== 0) {
        live &= ~this.spinning;
        unasked = true;
      } else {
        // Only a thread about to spin can be stuck.
        let m = live & this.spinning & ~this.probation;
        while (m !== 0) {
          const i = lowest(m);
          m &= m - 1;
          if (this.spin.stuck(rt, i, this.choices, this.ops, this.step)) {
            stuck++;
            stuckMask |= 1 << i;
          }
        }
        live &= ~stuckMask;
      }
    }
    let mask = live;
    let m = this.yielding & live;
    while (m !== 0) {
      const i = lowest(m);
      m &= m - 1;
      if ((this.yieldTo[i] & live) !== 0) mask &= ~(1 << i);
    }
    // The array changes only with the mask (start() clears the mask).
    if (mask !== this.eligibleMask || this.nEligible === 0) {
      const el = this.eligible;
      let k = 0;
      for (let r = mask; r !== 0; r &= r - 1) el[k++] = ts[lowest(r)];
      this.nEligible = k;
      this.eligibleMask = mask;
    }
    if (mask === 0 && unasked) {
      for (let m = this.runnable & this.spinning & ~this.probation; m !== 0; m &= m - 1) {
        const i = lowest(m);
        if (this.spin.stuck(rt, i, this.choices, this.ops, this.step)) {
          stuck++;
          stuckMask |= 1 << i;
        }
      }
    }
    this.stuck = stuck;
    this.stuckMask = stuckMask;
    const p = this.prev;
    // (p's op is never SPIN here: an eligible thread's spin is taken at once.)
    this.prevPreemptible = p !== null && (mask & (1 << p.id)) !== 0 && (this.spun & (1 << p.id)) === 0;
  }

  /** Brings the masks up to date after `t` ran a step: its state and its next op. */
  afterStep(t: Thread): void {
    const me = 1 << t.id;
    const kind = t.op & KIND_MASK;
    if (t.state === 'runnable') this.runnable |= me;
    else this.runnable &= ~me;
    if (kind === SPIN) this.spinning |= me;
    else this.spinning &= ~me;
    if (kind === SPIN || kind === LOCAL) this.quiet |= me;
    else this.quiet &= ~me;
  }

  /** `t`, blocked, was made runnable (during another thread's step). */
  woke(t: Thread): void {
    this.runnable |= 1 << t.id;
    this.wokenAt[t.id] = this.rt.steps;
  }

  /** Starts tracking threads [nKnown, n): spawned before the first step, or during the previous one. */
  private know(n: number): void {
    if (n > MAX_THREADS) throw new RangeError(`checker: at most ${MAX_THREADS} threads, the model has ${n}`);
    for (let i = this.nKnown; i < n; i++) {
      // A thread spawned during the previous step counts as woken by it.
      this.wokenAt[i] = this.step - 1;
      this.releasedAt[i] = -1;
      this.yieldTo[i] = 0;
      this.spin.addThread(i);
      this.afterStep(this.rt.threads[i]);
    }
    this.nKnown = n;
  }

  /**
   * True when a thread that may be chosen now ran no step in the last `window`
   * steps, though it was not woken (nor spawned) in them: the schedule so far
   * starved it. Called once, when an execution is cut at maxSteps.
   */
  starved(window: number): boolean {
    const from = this.step - window;
    if (from < 0) return false;
    let ran = 0;
    for (let j = from; j < this.step; j++) ran |= 1 << this.choices[j]!;
    for (let m = this.eligibleMask & ~ran; m !== 0; m &= m - 1) {
      if (this.wokenAt[lowest(m)]! < from) return true;
    }
    return false;
  }

  /** True when `t` is among the eligible threads. */
  isEligible(t: Thread): boolean {
    return (this.eligibleMask & (1 << t.id)) !== 0;
  }

  /**
   * When nothing can run but threads look stuck, lets those whose last iteration
   * was not already such a trial go round once more: a livelock is reported
   * only once an iteration really came back to the same spin with nothing new
   * to see. This guards against state changed under an op that did not
   * announce it. False when there is nobody left to try.
   */
  grantProbation(): boolean {
    const m = this.stuckMask & ~this.lastWasProbation;
    if (m === 0) return false;
    this.probation |= m;
    return true;
  }

  /**
   * The first eligible thread whose next step is taken at once, or null: a
   * LOCAL step, or a SPIN. Neither touches anything another thread sees, so
   * when it runs changes no state. A spin's moment matters only to the
   * fair-spin rules, which make the thread yield to the threads eligible at
   * that moment: taken as soon as the retry loop comes round, it yields to
   * those eligible when the attempt failed. Left as a choice, a spin could be
   * put off until other threads had run, which only changes whom it yields
   * to (those schedules added 10 traces to the 116 of
   * fault-vs-invalidation-mini 2x1x1 with bound 1). Taken at once, a spin is
   * one with the step before it; the steps of other threads around it are
   * still ordered by its yields, which the happens-before counts as
   * dependencies (HappensBefore's YIELDS).
   */
  localStep(): Thread | null {
    const q = this.eligibleMask & this.quiet;
    return q === 0 ? null : this.rt.threads[lowest(q)];
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
    if (this.yielding !== 0) {
      let m = this.yielding;
      while (m !== 0) {
        const i = lowest(m);
        m &= m - 1;
        const v = y[i] & ~me;
        y[i] = v;
        if (v === 0) {
          this.yielding &= ~(1 << i);
          this.releasedAt[i] = this.step;
        }
      }
    }
    const kind = t.op & KIND_MASK;
    // A spin is taken at once (localStep), so the free switch away from a
    // spinning thread comes at the next choice, before its next visible step.
    if (kind !== SPIN && kind !== LOCAL) this.spun &= ~me;
    if (kind === SPIN) {
      this.spin.spun(this.rt, t, this.step);
      this.spun |= me;
      if (this.fairSpin) {
        const v = this.eligibleMask & ~me;
        y[t.id] = v;
        if (v !== 0) this.yielding |= me;
      }
      if ((this.probation & me) !== 0) {
        this.probation &= ~me;
        this.lastWasProbation |= me;
      } else {
        this.lastWasProbation &= ~me;
      }
    }
    this.choices[this.step] = t.id;
    this.ops[this.step] = t.op;
  }

  /** Records a draw the model made. */
  recordDraw(v: number): void {
    this.draws[this.nDraws++] = v;
  }

  /**
   * The schedule run so far, copied. When the model threw in a step, with that
   * step: without it a replay would stop one step short of the throw (the
   * schedule ends while threads can still run) instead of reproducing it.
   */
  schedule(): Schedule {
    const steps = this.step + (this.threwInStep ? 1 : 0);
    return { choices: this.choices.slice(0, steps), draws: this.draws.slice(0, this.nDraws) };
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
