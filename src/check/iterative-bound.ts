import { type BoundLevel, BoundLevels, type LevelPhase } from './bound-levels.js';
import { DelegatingStrategy } from './delegating.js';
import { type DfsOptions, DfsStrategy, defaultPor } from './dfs.js';
import type { Execution } from './execution.js';
import { DEFAULT_MAX_STATES, SHARED_STATES_PREFIXES, SharedStateCache } from './shared-state-cache.js';
import type { Strategy } from './strategy.js';

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
 * of a world too big to finish. (The order of the levels: BoundLevels.)
 */
export class IterativeBoundStrategy extends DelegatingStrategy {
  readonly name = 'dfs';
  private readonly plan: BoundLevels;
  private dfs: DfsStrategy;
  /** States lost by the levels before the current one (see Strategy.statesLost). */
  private lostBefore = 0;

  /** `maxBound`: the last level (Infinity: until a level is the whole space). */
  constructor(
    private readonly options: Omit<DfsOptions, 'preemptionBound' | 'split'>,
    maxBound = Number.POSITIVE_INFINITY,
  ) {
    super();
    this.plan = new BoundLevels(maxBound);
    this.dfs = levelStrategy(this.options, { preemptionBound: 0 });
  }

  /** What ran at each level so far, the current one last. */
  get levels(): readonly BoundLevel[] {
    return this.plan.levels;
  }

  override beginExecution(x: Execution): boolean {
    for (;;) {
      if (this.plan.mayRun() && this.dfs.beginExecution(x)) {
        this.plan.count();
        return true;
      }
      const next = this.plan.phase() === null ? null : this.plan.end(this.dfs.exhausted(), this.dfs.stats.boundCuts > 0);
      if (next === null) return false;
      this.lostBefore += this.dfs.statesLost();
      this.dfs = levelStrategy(this.options, next);
    }
  }

  protected get current(): Strategy {
    return this.dfs;
  }

  /** True once the last level is exhausted: the whole space (or every execution within maxBound) was run. */
  override exhausted(): boolean {
    return this.plan.exhausted();
  }

  override statesLost(): number {
    return this.lostBefore + this.dfs.statesLost();
  }

  /** The levels, for the summary. */
  override boundLevels(): BoundLevel[] {
    return this.plan.levels.map((l) => ({ ...l }));
  }
}

/**
 * The DFS options of a level: its bound; or, for a try of the whole space, no
 * bound, with DPOR (without a bound, states are too many to go through one by one).
 */
export function levelOptions<O extends Omit<DfsOptions, 'preemptionBound' | 'split'>>(options: O, phase: LevelPhase): O & Pick<DfsOptions, 'preemptionBound'> {
  if (phase.preemptionBound !== null) return { ...options, preemptionBound: phase.preemptionBound };
  return { ...options, por: options.por === 'states' ? 'dpor' : options.por };
}

/**
 * A level's DFS in this thread. A bounded level with explored states splits
 * its tree as the CLI's workers split a level (one part, one table of states:
 * check-workers.ts): the nodes of a split are not looked up in the table, so
 * a split DFS may explore a state there twice and run a few executions more
 * than the unsplit one (memslot-delete-mini with bound 2: 5 of 319,041), and
 * `--workers 1` and `--workers K` must split alike to give the same figures.
 */
function levelStrategy(options: Omit<DfsOptions, 'preemptionBound' | 'split'>, phase: LevelPhase): DfsStrategy {
  const level = levelOptions(options, phase);
  if (level.preemptionBound === undefined || defaultPor(level) !== 'states') return new DfsStrategy(level);
  const states = SharedStateCache.buffer(options.maxStates ?? DEFAULT_MAX_STATES);
  return new DfsStrategy({ ...level, split: { shard: { index: 0, count: 1 }, prefixes: SHARED_STATES_PREFIXES, states } });
}
