import { DelegatingStrategy } from './delegating.js';
import { type DfsOptions, DfsStrategy } from './dfs.js';
import type { Execution } from './execution.js';
import type { Strategy } from './strategy.js';

/** One level of an iterative preemption bound: what ran with at most `preemptionBound` preemptions. */
export interface BoundLevel {
  /** Most preemptions per execution at this level; null for a try of the whole space, with DPOR and sleep sets. */
  preemptionBound: number | null;
  /** Executions run at this level (those of the levels below run again). */
  executions: number;
  /** The DFS within the bound (without one, for a try) finished (bounded DPOR's coverage: README). */
  exhausted: boolean;
}

/**
 * Iterative preemption bounding, as CHESS's iterative context bounding does
 * (Musuvathi and Qadeer, PLDI 2007): DFS with at most 0 preemptions until that
 * space is exhausted, then at most 1, 2, and so on. Bugs that need few
 * preemptions, most of them, turn up early, and when the time runs out the
 * levels say up to which bound the search finished (bounded DPOR reaches most,
 * not all, interleavings within its bound: README), where a plain
 * unbounded DFS of a big world only says it did not finish. Each level runs
 * the levels below again: they are small beside it. A level in which the bound
 * never kept a thread from running is the whole space, and the last one.
 *
 * A bound turns sleep sets off (see DfsStrategy), so a small world's levels
 * can add up to far more executions than its whole space takes without one
 * (fault-vs-invalidation-mini 1×1×1: 137,117 up to the bound that cuts
 * nothing, 320 unbounded). So after each level, the whole space is tried,
 * with DPOR and sleep sets, for as many executions as that level took: if it
 * is done within them, so is the exploration. That at most doubles the cost
 * of a world too big to finish.
 */
export class IterativeBoundStrategy extends DelegatingStrategy {
  readonly name = 'dfs';
  /** What ran at each level so far, the current one last. */
  readonly levels: BoundLevel[] = [];
  private dfs: DfsStrategy;
  private done = false;
  /** The bound of the last bounded level. */
  private bound = 0;
  /** Executions the current try of the whole space may take. */
  private budget = 0;

  /** `maxBound`: the last level (Infinity: until a level is the whole space). */
  constructor(
    private readonly options: Omit<DfsOptions, 'preemptionBound' | 'split'>,
    private readonly maxBound = Number.POSITIVE_INFINITY,
  ) {
    super();
    this.dfs = this.level(0);
  }

  private level(bound: number): DfsStrategy {
    this.bound = bound;
    this.levels.push({ preemptionBound: bound, executions: 0, exhausted: false });
    return new DfsStrategy({ ...this.options, preemptionBound: bound });
  }

  private wholeSpace(budget: number): DfsStrategy {
    this.budget = budget;
    this.levels.push({ preemptionBound: null, executions: 0, exhausted: false });
    // Without a bound, states are too many to go through one by one: DPOR.
    return new DfsStrategy({ ...this.options, por: this.options.por === 'states' ? 'dpor' : this.options.por });
  }

  override beginExecution(x: Execution): boolean {
    while (!this.done) {
      const cur = this.levels[this.levels.length - 1]!;
      const trying = cur.preemptionBound === null;
      if (!(trying && cur.executions >= this.budget) && this.dfs.beginExecution(x)) {
        cur.executions++;
        return true;
      }
      cur.exhausted = this.dfs.exhausted();
      if (trying) {
        // Done within the budget: the whole space was run. Otherwise, the next bound.
        if (cur.exhausted) this.done = true;
        else this.dfs = this.level(this.bound + 1);
      } else if (!cur.exhausted || this.dfs.stats.boundCuts === 0 || this.bound >= this.maxBound) {
        this.done = true;
      } else {
        this.dfs = this.wholeSpace(cur.executions);
      }
    }
    return false;
  }

  protected get current(): Strategy {
    return this.dfs;
  }

  /** True once the last level is exhausted: the whole space (or every execution within maxBound) was run. */
  override exhausted(): boolean {
    return this.done && this.levels[this.levels.length - 1]!.exhausted;
  }

  /** The levels, for the summary. */
  override boundLevels(): BoundLevel[] {
    return this.levels.map((l) => ({ ...l }));
  }
}
