import type { Thread } from '../runtime/thread.js';
import type { DfsObserver } from './dfs.js';
import type { Execution, Outcome } from './execution.js';
import { RandomStrategy } from './random.js';

/**
 * A uniform random walk that tells an observer each step and each end, as a
 * DFS tells its DfsObserver: to compare the traces random schedules reach,
 * spread over the whole tree, with those an exhausted DFS reaches (any one
 * the DFS lacks is a trace its reduction missed; trace-set.ts names them).
 */
export class WatchedRandom extends RandomStrategy {
  constructor(
    seed: number,
    private readonly observer: DfsObserver,
  ) {
    super(seed);
  }

  override nextThread(x: Execution): Thread {
    const t = super.nextThread(x);
    this.observer.step?.(t.id, t.op);
    return t;
  }

  override forcedStep(_x: Execution, t: Thread): void {
    this.observer.step?.(t.id, t.op);
  }

  override endExecution(_x: Execution, outcome: Outcome): void {
    this.observer.end?.(outcome);
  }
}
