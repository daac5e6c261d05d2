import type { Violation } from '../runtime/instance.js';
import type { Weighted } from '../runtime/prng.js';
import type { Schedule } from '../runtime/schedule.js';
import type { Thread } from '../runtime/thread.js';
import { DelegatingStrategy } from './delegating.js';
import { DfsStrategy } from './dfs.js';
import { executionDriver } from './driver.js';
import { Execution } from './execution.js';
import type { InstanceFactory } from './factory.js';
import { ReplayStrategy } from './replay.js';
import { type RunLimits, runExecution, runOnce } from './run.js';
import type { Strategy } from './strategy.js';

/** A counterexample's size, as the search compares them. */
export interface SearchedSize {
  steps: number;
  preemptions: number;
}

/** A schedule the search found. */
export interface Found {
  schedule: Schedule;
  violation: Violation;
  preemptions: number;
  switches: number;
}

/** What a search for a shortest counterexample came to. */
export interface ShortestResult {
  /** The smallest schedule found, or null when none beat the one given. */
  found: Found | null;
  /** Executions run. */
  executions: number;
  /**
   * True when the search ran to the end: then no schedule with fewer
   * preemptions than the result's (at no more steps), and none as short with
   * as many, violates the property.
   */
  complete: boolean;
}

/**
 * What a search that ran to the end shows of the counterexample it leaves,
 * with `preemptions` preemptions, for the line that reports the minimisation
 * ("shortest: ..."): none as short has fewer preemptions, none with as many is
 * shorter (one with more may be). With none, the first part says nothing
 * (there are no fewer than 0), and is left out.
 */
export function shortestClaim(preemptions: number): string {
  if (preemptions === 0) return 'shortest: none shorter with no preemptions';
  return `shortest: none as short with fewer preemptions, none shorter with ${preemptions}`;
}

/**
 * The search's scheduler: `inner`'s choices, an execution ended as redundant
 * once it has run `limit` steps (the search wants shorter ones), and the
 * model's draws those of the counterexample given, thread by thread: each
 * thread's i-th draw is the value that thread drew i-th there (then the
 * inner strategy's, per thread too). So the search looks in the world the
 * counterexample was found in, and a thread's draws still do not depend on
 * the order the threads ran in (which explored states assume).
 */
class SearchScheduler extends DelegatingStrategy {
  readonly name = 'dfs';
  /** Per thread id + 1: draws taken this execution. */
  private readonly taken: number[] = [];
  constructor(
    private readonly inner: Strategy,
    private readonly limit: number,
    private readonly draws: readonly (readonly number[])[],
  ) {
    super();
  }
  protected get current(): Strategy {
    return this.inner;
  }
  override beginExecution(x: Execution): boolean {
    this.taken.length = 0;
    return this.inner.beginExecution(x);
  }
  override nextThread(x: Execution): Thread | null {
    return x.step >= this.limit ? null : this.inner.nextThread(x);
  }
  override nextDraw(x: Execution, n: number, w?: Weighted): number {
    const k = (x.rt.current?.id ?? -1) + 1;
    const i = this.taken[k] ?? 0;
    this.taken[k] = i + 1;
    const v = this.draws[k]?.[i];
    return v !== undefined && v < n ? v : this.inner.nextDraw(x, n, w);
  }
}

/** Records, thread by thread, the draws of the schedule it replays. */
class DrawRecorder extends DelegatingStrategy {
  readonly name = 'replay';
  /** Per thread id + 1 (0: outside any thread): the values drawn, in order. */
  readonly draws: number[][] = [];
  constructor(private readonly replay: ReplayStrategy) {
    super();
  }
  protected get current(): Strategy {
    return this.replay;
  }
  override nextDraw(x: Execution, n: number): number {
    const v = this.replay.nextDraw(x, n);
    const k = (x.rt.current?.id ?? -1) + 1;
    const mine = this.draws[k] ?? [];
    mine.push(v);
    this.draws[k] = mine;
    return v;
  }
}

/** What each thread drew when `schedule` ran, in order, by thread id + 1 (0: outside any thread). */
export function drawsByThread(factory: InstanceFactory, schedule: Schedule, limits: RunLimits): number[][] {
  const recorder = new DrawRecorder(new ReplayStrategy(schedule));
  runOnce(factory, recorder, limits, false);
  return recorder.draws;
}

/**
 * Searches for the smallest schedule that violates property `kind` with no
 * more steps and preemptions than `size` (those of `given`, or less), with
 * the model drawing what it drew in `given`: the fewest preemptions first, then
 * the fewest steps with those. Each question ("is there one with at most p
 * preemptions and at most L steps?") is a bounded DFS with explored states
 * (every interleaving within the bounds, each state once), cut at L steps;
 * the preemptions are tried from 0 up, then L is lowered below each find.
 * It stops when `budget` executions are spent (so the result depends on the
 * budget, not on the machine), or at `deadline` on the clock when one is
 * given; `complete` says whether it got to the end.
 */
export function searchShortest(
  factory: InstanceFactory,
  kind: string,
  given: Schedule,
  size: SearchedSize,
  limits: RunLimits,
  options: { budget: number; seed: number; deadline: number; clock: () => number; interrupted?: () => boolean },
): ShortestResult {
  const draws = drawsByThread(factory, given, limits);
  let spent = 0;
  let found: Found | null = null;
  let best = size;
  const x = new Execution();

  /** A violation of `kind` within p preemptions and `maxSteps` steps; undefined when the budget ran out first. */
  const search = (p: number, maxSteps: number): Found | null | undefined => {
    const dfs = new DfsStrategy({ preemptionBound: p, por: 'states', seed: options.seed });
    const strategy = new SearchScheduler(dfs, maxSteps, draws);
    let index = 0;
    for (;;) {
      if (spent >= options.budget || options.clock() >= options.deadline || options.interrupted?.()) return undefined;
      if (!strategy.beginExecution(x)) return null;
      spent++;
      const inst = factory({ log: false });
      inst.rt.driver = executionDriver(x, strategy);
      x.start(inst, index++);
      const outcome = runExecution(x, strategy, limits);
      strategy.endExecution(x, outcome);
      const v = inst.violations[0];
      // Steps taken without a choice can carry an execution past the limit.
      if (outcome === 'violation' && v.kind === kind && x.step <= maxSteps) {
        return { schedule: x.schedule(), violation: v, preemptions: x.preemptions, switches: x.switches };
      }
      inst.dispose?.();
    }
  };

  const keep = (f: Found): void => {
    found = f;
    best = { steps: f.schedule.choices.length, preemptions: f.preemptions };
  };

  for (let p = 0; p <= best.preemptions; p++) {
    // With fewer preemptions, as many steps will do; with as many, fewer are needed.
    const f = search(p, p < best.preemptions ? best.steps : best.steps - 1);
    if (f === undefined) return { found, executions: spent, complete: false };
    if (f === null) continue;
    keep(f);
    // The fewest preemptions are p; now the fewest steps with p: ask for a
    // shorter one until there is none (the search's first find is usually
    // near the shortest, so this is one exhaustive search and a few quick ones).
    for (;;) {
      const g = search(p, best.steps - 1);
      if (g === undefined) return { found, executions: spent, complete: false };
      if (g === null) break;
      keep(g);
    }
    break;
  }
  return { found, executions: spent, complete: true };
}
