import type { Weighted } from '../runtime/prng.js';
import type { Thread } from '../runtime/thread.js';
import type { BoundLevel } from './bound-levels.js';
import type { Execution, Outcome } from './execution.js';
import type { Strategy } from './strategy.js';

/**
 * A strategy made of others run in turn (the phases of a portfolio, the levels
 * of an iterative preemption bound), or one wrapped to change a part of it:
 * the choices of an execution are those of the one running now; subclasses
 * say which, and when to move on.
 */
export abstract class DelegatingStrategy implements Strategy {
  abstract readonly name: string;
  /** The strategy running the current execution. */
  protected abstract get current(): Strategy;

  beginExecution(x: Execution): boolean {
    return this.current.beginExecution(x);
  }

  exhausted(): boolean {
    return this.current.exhausted();
  }

  nextThread(x: Execution): Thread | null {
    return this.current.nextThread(x);
  }

  forcedStep(x: Execution, t: Thread): void {
    this.current.forcedStep(x, t);
  }

  nextDraw(x: Execution, n: number, w?: Weighted): number {
    return this.current.nextDraw(x, n, w);
  }

  endExecution(x: Execution, outcome: Outcome): void {
    this.current.endExecution(x, outcome);
  }

  boundLevels(): BoundLevel[] | undefined {
    return this.current.boundLevels?.();
  }

  statesLost(): number {
    return this.current.statesLost?.() ?? 0;
  }
}
