import type { Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import { buildCounterexample, type CexOrigin, type Counterexample } from './counterexample.js';
import { DfsStrategy } from './dfs.js';
import { type ExploreOptions, explore, type ModelBugReport, runLimits } from './explore.js';
import type { InstanceFactory } from './factory.js';
import type { PartRecord } from './ledger.js';
import { type MinimiseOptions, type MinimiseResult, minimise } from './minimise.js';
import { makeStrategy, type StrategySpec } from './strategies.js';
import type { Summary } from './summary.js';

/** What to check and how. */
export interface CheckOptions extends ExploreOptions {
  /** The strategy and its settings. */
  strategy: StrategySpec;
  /** Seed of the random strategies and of the model's draws. */
  seed: number;
  /** Scenario, settings and mutant, recorded in the counterexample. */
  origin: Omit<CexOrigin, 'seed' | 'strategy'>;
  /** Minimise a counterexample before reporting it (default true). */
  minimise?: boolean;
  /** Budget of the minimisation. */
  minimiseOptions?: MinimiseOptions;
  /** Build the counterexample of a violation here (default true); false leaves it to whoever merges the parts. */
  counterexample?: boolean;
}

/** What a check found. */
export interface CheckResult {
  /** Figures of the exploration (minimisation excluded). */
  summary: Summary;
  /** The violation as first found, or null. */
  violation: Violation | null;
  /** The (minimised) counterexample, or null. */
  counterexample: Counterexample | null;
  /** How minimisation went, when it ran. */
  minimisation: Omit<MinimiseResult, 'schedule' | 'violation'> | null;
  /** Set when the model threw; its schedule replays up to the throw. */
  modelBug: ModelBugReport | null;
  /** The schedule of the violation as first found, or null. */
  schedule: Schedule | null;
  /** The figures by unit, for merging shards. */
  part: PartRecord;
  /**
   * dfs with a preemption bound: the bound kept a thread from running in some
   * execution, so a bigger one would run more (the iterative bound's levels
   * go on; an exhausted check with none records boundCutNone in its JSON).
   */
  boundCut?: boolean;
  /**
   * dfs with explored states: states its table forgot or could not add (it
   * was full), so explored again. Sound, but the figures then depend on the
   * order the parts ran in. Absent when none.
   */
  statesLost?: number;
}

/** A counterexample and how its minimisation went. */
export interface CounterexampleResult {
  counterexample: Counterexample;
  minimisation: CheckResult['minimisation'];
}

/**
 * Explores the model built by `factory` with the strategy asked for; on a
 * violation, minimises the schedule (same property, never longer) and builds
 * the counterexample by replaying it with the log on.
 */
export function check(factory: InstanceFactory, options: CheckOptions): CheckResult {
  const clock = options.clock ?? (() => performance.now());
  const t0 = clock();
  const strategy = makeStrategy(options.strategy, options.seed, options.shard);
  const found = explore(factory, strategy, options);
  // A time limit bounds the whole check: minimisation gets what the search left
  // (its result may then depend on the machine's speed, as the search's does).
  // SIGINT stops it where it is, as it stops the search.
  const minimiseOptions = {
    interrupted: options.interrupted,
    ...options.minimiseOptions,
    ...(options.timeLimitMs !== undefined && options.minimiseOptions?.timeLimitMs === undefined
      ? { timeLimitMs: Math.max(0, options.timeLimitMs - (clock() - t0)) }
      : {}),
  };
  const cex =
    found.violation !== null && found.schedule !== null && (options.counterexample ?? true)
      ? counterexampleOf(factory, found.violation, found.schedule, strategy.name, { ...options, minimiseOptions })
      : null;
  const lost = strategy.statesLost?.() ?? 0;
  return { ...checkResult(found, cex), boundCut: strategy instanceof DfsStrategy && strategy.stats.boundCuts > 0, ...(lost > 0 ? { statesLost: lost } : {}) };
}

/** What a check found, apart from its figures. */
export type Findings = Pick<CheckResult, 'violation' | 'counterexample' | 'minimisation' | 'modelBug' | 'schedule'>;

/** What `lead` found (the part or phase whose stop is the run's), or nothing when it is null. */
export function findingsOf(lead: Findings | null): Findings {
  return {
    violation: lead?.violation ?? null,
    counterexample: lead?.counterexample ?? null,
    minimisation: lead?.minimisation ?? null,
    modelBug: lead?.modelBug ?? null,
    schedule: lead?.schedule ?? null,
  };
}

/** What an exploration found, with the counterexample built from its violation (if any). */
export function checkResult(
  found: Pick<CheckResult, 'summary' | 'violation' | 'modelBug' | 'schedule' | 'part'>,
  cex: CounterexampleResult | null,
): CheckResult {
  return {
    summary: found.summary,
    violation: found.violation,
    counterexample: cex?.counterexample ?? null,
    minimisation: cex?.minimisation ?? null,
    modelBug: found.modelBug,
    schedule: found.schedule,
    part: found.part,
  };
}

/** Minimises (unless told not to) the schedule of a violation and builds its counterexample by replaying it with the log on. */
export function counterexampleOf(
  factory: InstanceFactory,
  violation: Violation,
  found: Schedule,
  strategyName: string,
  options: Omit<CheckOptions, 'strategy'>,
): CounterexampleResult {
  const limits = runLimits(options);
  let schedule = found;
  let minimisation: CheckResult['minimisation'] = null;
  if (options.minimise ?? true) {
    const m = minimise(factory, schedule, violation.kind, limits, { clock: options.clock, seed: options.seed, ...options.minimiseOptions });
    schedule = m.schedule;
    minimisation = {
      size: m.size,
      original: m.original,
      attempts: m.attempts,
      search: m.search,
      ...(m.cutShort !== undefined ? { cutShort: m.cutShort } : {}),
    };
  }
  const counterexample = buildCounterexample(factory, { ...options.origin, seed: options.seed, strategy: strategyName }, schedule, limits);
  return { counterexample, minimisation };
}
