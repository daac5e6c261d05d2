import type { Weighted } from '../runtime/prng.js';
import type { Thread } from '../runtime/thread.js';
import type { BoundLevel } from './bound-levels.js';
import type { Execution, Outcome } from './execution.js';

/**
 * A scheduler, as an oracle behind a small interface (after shuttle's
 * Scheduler): it is asked which thread runs at each yield point and what each
 * of the model's random draws returns. One strategy per file.
 */
export interface Strategy {
  /** Name recorded in results and counterexamples ('dfs', 'pct', 'random', 'replay', ...). */
  readonly name: string;
  /** Prepares execution number `x.index`; false when there is nothing left to run. */
  beginExecution(x: Execution): boolean;
  /**
   * Picks the thread that runs the next step, from `x.eligible[0, x.nEligible)` (never empty).
   * Null ends the execution as redundant (e.g. every eligible thread is in the
   * sleep set).
   */
  nextThread(x: Execution): Thread | null;
  /**
   * Told that `t` runs the next step without a choice: its announced op is
   * LOCAL or SPIN, which commute with every other step, so the runner takes
   * it at once (an invisible step, not a branch point; see
   * Execution.localStep).
   */
  forcedStep(x: Execution, t: Thread): void;
  /**
   * The model's draw in [0, n): uniform, or with the weights of `w` (n is then
   * w.n). A search that branches on draws may take every value in turn,
   * weighted or not; one that follows a schedule returns what it recorded.
   */
  nextDraw(x: Execution, n: number, w?: Weighted): number;
  /** Told how the execution ended. */
  endExecution(x: Execution, outcome: Outcome): void;
  /** True once a systematic strategy has run every execution of its bounded space. */
  exhausted(): boolean;
  /** A strategy that bounds preemptions level by level: what ran at each level (the summary's preemptionBounds). */
  boundLevels?(): BoundLevel[] | undefined;
  /** A strategy that remembers explored states: states its full table forgot or could not add, so explored again (0: none). */
  statesLost?(): number;
}
