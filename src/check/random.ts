import type { Weighted } from '../runtime/prng.js';
import type { Thread } from '../runtime/thread.js';
import { SeededDraws } from './draws.js';
import type { Execution, Outcome } from './execution.js';
import { OnlyExecution } from './only-execution.js';
import { SchedRng } from './rng.js';
import type { Strategy } from './strategy.js';

/** A uniform random walk: each step, any eligible thread with equal probability; in a world of one execution, that one (OnlyExecution). */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private readonly rng = new SchedRng();
  private readonly draws: SeededDraws;
  private readonly only = new OnlyExecution();
  /** Every part of a striped or sharded run runs execution 0 (Calibrated), which tells a world of one execution. */
  readonly calibrationExecutions = 1;

  constructor(private readonly seed: number) {
    this.draws = new SeededDraws(seed);
  }

  beginExecution(x: Execution): boolean {
    if (!this.only.begin(x.index)) return false;
    this.rng.reseed(this.seed, x.index);
    this.draws.reset(x.index);
    return true;
  }

  nextThread(x: Execution): Thread {
    const n = x.nEligible;
    this.only.among(n);
    return x.eligible[n === 1 ? 0 : this.rng.below(n)];
  }

  forcedStep(_x: Execution, _t: Thread): void {}

  nextDraw(x: Execution, n: number, w?: Weighted): number {
    this.only.among(n);
    return this.draws.below(n, x.rt.current?.id ?? -1, w);
  }

  endExecution(_x: Execution, _outcome: Outcome): void {
    this.only.end();
  }

  exhausted(): boolean {
    return this.only.found;
  }
}
