import type { Instance, Violation } from '../runtime/instance.js';
import { opKind, SPIN } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';

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
  /** Per thread id: the step during which it was last woken, or -1. */
  readonly wokenAt: number[] = [];
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
    this.prev = null;
    this.prevPreemptible = false;
    this.preemptions = 0;
    this.switches = 0;
    this.choices.length = 0;
    this.draws.length = 0;
    this.wokenAt.length = 0;
    this.error = null;
  }

  /**
   * Fills `eligible` with the threads that may run now. With `fairSpin`, a
   * runnable thread about to go round a retry loop (its op is SPIN) while no
   * other thread has announced a write since its previous spin is left out: its
   * next iteration would re-read the same state. It is counted in `stuck`.
   */
  computeEligible(fairSpin: boolean): void {
    const rt = this.rt;
    const ts = rt.threads;
    const el = this.eligible;
    el.length = 0;
    let stuck = 0;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (t.state !== 'runnable') continue;
      if (fairSpin && isStuck(rt, t)) {
        stuck++;
        continue;
      }
      el.push(t);
    }
    this.stuck = stuck;
    // A thread spawned during the previous step counts as woken by it.
    while (this.wokenAt.length < ts.length) this.wokenAt.push(this.step - 1);
    const p = this.prev;
    this.prevPreemptible = p !== null && p.state === 'runnable' && opKind(p.op) !== SPIN && !(fairSpin && isStuck(rt, p));
  }

  /** Book-keeping before `t` runs the next step: spin progress, switches, the choice. */
  beforeStep(t: Thread): void {
    const p = this.prev;
    if (p !== null && p !== t) {
      this.switches++;
      if (this.prevPreemptible) this.preemptions++;
    }
    if (opKind(t.op) === SPIN) t.lastSpinOthersWrites = this.rt.writes - t.ownWrites;
    this.choices.push(t.id);
    this.prev = t;
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
