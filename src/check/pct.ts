import type { Weighted } from '../runtime/prng.js';
import type { Thread } from '../runtime/thread.js';
import { SeededDraws } from './draws.js';
import type { Execution, Outcome } from './execution.js';
import { OnlyExecution } from './only-execution.js';
import { SchedRng } from './rng.js';
import type { Strategy } from './strategy.js';

/**
 * Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, ASPLOS 2010). Each execution gives the threads random distinct
 * priorities above `depth`, and picks depth-1 change points uniformly over the
 * estimated number of steps k; the highest-priority eligible thread always
 * runs, and at the i-th change point the thread about to run drops to priority
 * depth-i. A bug of depth d is found with probability at least 1/(n·k^(d-1)).
 *
 * k is learnt: the longest of the first `calibrationExecutions` executions
 * (`estimatedSteps` to start with), then fixed. Fixing it makes execution i
 * depend on i alone once calibrated, so the parts of a sharded run (which
 * each run the calibrating executions, see explore.ts) run exactly the
 * unsharded run's executions. (Learning it for ever would make k, and so every
 * later execution, depend on which executions a part ran before.) The longest
 * execution keeps growing slowly: on fault-vs-invalidation-mini 3x3x2 it is
 * 215 steps after 100 executions and 294 after 10000 (1.37 times), hence k is set to
 * K_MARGIN times the calibrating maximum.
 * Threads that spin without progress are not eligible (see Execution), which
 * stands in for PCT's rule that a yielding thread is deprioritised.
 *
 * A world of one execution: PCT stops after it (OnlyExecution).
 */
/** k, once calibrated: this many times the longest calibrating execution. */
const K_MARGIN = 1.4;

export class PctStrategy implements Strategy {
  readonly name = 'pct';
  private readonly rng = new SchedRng();
  private readonly draws: SeededDraws;
  /**
   * Priority of each thread id this execution: entries [0, nPrio), the threads
   * seen so far. The arrays are reused from one execution to the next (a count
   * says how much is in use): emptying an array by its length costs a call
   * into the runtime at every execution.
   */
  private readonly prio: number[] = [];
  private nPrio = 0;
  /** Change points (step indices), ascending: entries [0, nChanges). */
  private readonly changes: number[] = [];
  private nChanges = 0;
  /** Next change point to reach, index into `changes`. */
  private nextChange = 0;
  /** Estimate of the number of steps of an execution. */
  private k: number;
  /**
   * The eligible threads (a mask) at the last choice, and the thread chosen:
   * while the set is the same and no change point has lowered a priority
   * since, the highest priority among them is the same thread (-1: none).
   */
  private lastMask = -1;
  private lastBest: Thread | null = null;
  private readonly only = new OnlyExecution();

  constructor(
    private readonly seed: number,
    /** Bug depth d ≥ 1: d-1 priority change points per execution. */
    private readonly depth = 3,
    estimatedSteps = 0,
    /** Executions (from index 0) whose length sets k. */
    readonly calibrationExecutions = 100,
  ) {
    this.draws = new SeededDraws(seed);
    this.k = estimatedSteps;
    if (!(depth >= 1)) throw new RangeError(`pct depth must be at least 1, not ${depth}`);
  }

  beginExecution(x: Execution): boolean {
    if (!this.only.begin(x.index)) return false;
    this.rng.reseed(this.seed, x.index);
    this.draws.reset(x.index);
    this.nPrio = 0;
    const c = this.changes;
    let n = 0;
    if (this.k > 0) {
      for (let i = 1; i < this.depth; i++) {
        // Each drawn in turn and put in ascending order.
        const v = this.rng.below(this.k);
        let j = n++;
        for (; j > 0 && c[j - 1]! > v; j--) c[j] = c[j - 1]!;
        c[j] = v;
      }
    }
    this.nChanges = n;
    this.nextChange = 0;
    this.lastMask = -1;
    this.lastBest = null;
    return true;
  }

  nextThread(x: Execution): Thread {
    const el = x.eligible;
    const prio = this.prio;
    const ts = x.rt.threads;
    // Threads seen for the first time get a random priority above every change-point priority.
    while (this.nPrio < ts.length) prio[this.nPrio++] = this.depth + this.rng.float();
    const n = x.nEligible;
    this.only.among(n);
    let best = x.eligibleMask === this.lastMask ? this.lastBest! : pick(el, n, prio);
    const c = this.changes;
    while (this.nextChange < this.nChanges && c[this.nextChange]! <= x.step) {
      if (c[this.nextChange] === x.step) {
        // The i-th change point: the thread about to run drops below everyone else.
        prio[best.id] = this.depth - 1 - this.nextChange;
        best = pick(el, n, prio);
      }
      this.nextChange++;
    }
    this.lastMask = x.eligibleMask;
    this.lastBest = best;
    return best;
  }

  forcedStep(_x: Execution, _t: Thread): void {}

  nextDraw(x: Execution, n: number, w?: Weighted): number {
    this.only.among(n);
    return this.draws.below(n, x.rt.current?.id ?? -1, w);
  }

  endExecution(x: Execution, _outcome: Outcome): void {
    this.only.end();
    if (x.index >= this.calibrationExecutions) return;
    if (x.step > this.k) this.k = x.step;
    // Executions keep getting longer than the calibrating ones, slowly: leave room
    // so that change points can fall in their last steps too.
    if (x.index === this.calibrationExecutions - 1) this.k = Math.ceil(this.k * K_MARGIN);
  }

  exhausted(): boolean {
    return this.only.found;
  }
}

function pick(el: Thread[], n: number, prio: number[]): Thread {
  let best = el[0];
  let bp = prio[best.id];
  for (let i = 1; i < n; i++) {
    const t = el[i];
    const p = prio[t.id];
    if (p > bp) {
      best = t;
      bp = p;
    }
  }
  return best;
}
