import { DelegatingStrategy } from './delegating.js';
import type { Execution } from './execution.js';
import type { Strategy } from './strategy.js';

/** One phase of a portfolio: a strategy and how many executions it gets. */
export interface Phase {
  /** The strategy of this phase. */
  strategy: Strategy;
  /** Executions it runs before the next phase starts (the last phase: until it is done). */
  executions: number;
}

/**
 * Runs strategies one after another: e.g. PCT for a few thousand executions,
 * which finds shallow bugs in milliseconds, then DFS, which goes deep first and
 * may take long to reach a bug near the start of an execution but can exhaust
 * the space. Its name is the current phase's, so that a counterexample records
 * the strategy that found it; it is exhausted when its last phase is.
 */
export class PortfolioStrategy extends DelegatingStrategy {
  /** Index of the current phase. */
  private phase = 0;
  /** Executions begun in the current phase. */
  private inPhase = 0;

  constructor(private readonly phases: Phase[]) {
    super();
    if (phases.length === 0) throw new RangeError('portfolio: no phases');
  }

  get name(): string {
    return this.current.name;
  }

  protected get current(): Strategy {
    return this.phases[this.phase].strategy;
  }

  override beginExecution(x: Execution): boolean {
    for (;;) {
      const last = this.phase === this.phases.length - 1;
      if (last || this.inPhase < this.phases[this.phase].executions) {
        // Sub-strategies number their own executions (seeds, streams).
        const index = x.index;
        x.index = this.inPhase;
        const ok = this.current.beginExecution(x);
        x.index = index;
        if (ok) {
          this.inPhase++;
          return true;
        }
        if (last) return false;
      }
      this.phase++;
      this.inPhase = 0;
    }
  }

  override exhausted(): boolean {
    return this.phase === this.phases.length - 1 && this.current.exhausted();
  }
}
