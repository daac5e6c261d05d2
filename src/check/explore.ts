import type { Instance, Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import type { BoundLevel } from './bound-levels.js';
import type { UnitClaims } from './claims.js';
import { executionDriver } from './driver.js';
import { Execution } from './execution.js';
import type { InstanceFactory } from './factory.js';
import { Ledger, type PartRecord } from './ledger.js';
import { bugReport, type ModelBugReport } from './model-bug-report.js';
import type { ProgressSink } from './progress.js';
import { type RunLimits, runExecution } from './run.js';
import { ownedBelow, owns, type Shard } from './shard.js';
import type { RetryRule, SpinProgress } from './spin.js';
import type { Strategy } from './strategy.js';
import type { StopReason, Summary } from './summary.js';

export type { ModelBugReport };

/** Bounds and hooks of an exploration. */
export interface ExploreOptions {
  /** Stop after this many executions (default: no limit). */
  maxExecutions?: number;
  /** Steps after which an execution is cut; a livelock if an awaited event is pending (default 10000). */
  maxSteps?: number;
  /** Wall-time budget, ms (default: none). */
  timeLimitMs?: number;
  /** Polled with the clock; true stops the exploration as 'interrupted' (SIGINT). */
  interrupted?: () => boolean;
  /** Do not schedule a thread that spins with nothing new to see, nor one that just spun while others wait; report livelock when only such threads are left (default true). */
  fairSpin?: boolean;
  /** What a spinning thread needs to see to be scheduled again (default 'footprint'). */
  spinProgress?: SpinProgress;
  /** When a thread that spun goes round again (default 'deferred', see RetryRule). */
  retries?: RetryRule;
  /** Where progress goes (default: nowhere). */
  progress?: ProgressSink | null;
  /** Time between progress updates, ms (default 250). */
  progressIntervalMs?: number;
  /** The wall clock, ms (default performance.now). */
  clock?: () => number;
  /**
   * Run only this part of the exploration (see shard.ts). With a shard,
   * maxExecutions still bounds the whole exploration: random and pct run the
   * execution indices below it that the part owns, dfs its share of the count.
   */
  shard?: Shard | null;
  /**
   * The lowest unit at which another part found a violation or a model bug
   * (Infinity: none yet). Units after it are not started: the merged result
   * ends there ('elsewhere').
   */
  stopAfter?: () => number;
  /**
   * dfs: the shard's units are handed out on demand between this part and
   * others running side by side (the strategy's split takes them from the same
   * claims). The part then keeps every unit it ran (see combineClaimed), and
   * maxExecutions's share of the shard is spent from a count they share.
   */
  claims?: UnitClaims | null;
  /**
   * Told the unit where this part stopped on a violation or a model bug, as
   * soon as it stops (before check minimises the counterexample), so that
   * parts running side by side stop past it at once.
   */
  onStop?: (unit: number) => void;
  /** Reuse this Execution's buffers (explorations run back to back, as the branches of a DFS are). */
  execution?: Execution;
}

/**
 * A strategy that splits its own space into units (dfs). Others are numbered
 * by execution index, which explore strides over.
 */
export interface SelfSharding {
  /** Unit of the execution just begun. */
  currentUnit(): number;
  /** The execution just begun only walks the split for a unit of another part: not counted, its outcome ignored. */
  probing(): boolean;
}

/**
 * A strategy whose first executions feed what later ones do (PCT learns the
 * length of an execution; pct and random learn from execution 0 whether the
 * world has only one, OnlyExecution): every part runs these, in order, and
 * counts only its own, so that its other executions are the unsharded run's.
 */
export interface Calibrated {
  /** How many executions, from index 0, calibrate. */
  readonly calibrationExecutions: number;
}

function selfSharding(s: Strategy): (Strategy & SelfSharding) | null {
  return typeof (s as Partial<SelfSharding>).currentUnit === 'function' ? (s as Strategy & SelfSharding) : null;
}

/** The summary's preemptionBounds, for a strategy that bounds preemptions level by level. */
function boundLevelsOf(s: Strategy): { preemptionBounds?: BoundLevel[] } {
  const levels = s.boundLevels?.();
  return levels === undefined ? {} : { preemptionBounds: levels };
}

function calibration(s: Strategy): number {
  return (s as Partial<Calibrated>).calibrationExecutions ?? 0;
}

/** What an exploration found. */
export interface ExploreResult {
  /** Figures. */
  summary: Summary;
  /** The first violation, or null. */
  violation: Violation | null;
  /** The schedule that leads to it, or null. */
  schedule: Schedule | null;
  /** Set when the model threw (the exploration stops there). */
  modelBug: ModelBugReport | null;
  /** The figures by unit, for merging parts (see ledger.ts). */
  part: PartRecord;
}

/** Defaults of RunLimits. */
export const DEFAULT_MAX_STEPS = 10_000;

/** The RunLimits implied by explore options. */
export function runLimits(options: ExploreOptions): RunLimits {
  return {
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
    fairSpin: options.fairSpin ?? true,
    spinProgress: options.spinProgress ?? 'footprint',
    retries: options.retries ?? 'deferred',
  };
}

/**
 * Runs executions of fresh instances from `factory`, each scheduled by
 * `strategy`, until a violation or a model bug, the strategy's exhaustion, or
 * a bound. Only the first violation is reported.
 */
export function explore(factory: InstanceFactory, strategy: Strategy, options: ExploreOptions = {}): ExploreResult {
  const clock = options.clock ?? (() => performance.now());
  const limits = runLimits(options);
  const maxExecutions = options.maxExecutions ?? Number.POSITIVE_INFINITY;
  const timeLimit = options.timeLimitMs ?? Number.POSITIVE_INFINITY;
  const progress = options.progress ?? null;
  const interval = options.progressIntervalMs ?? 250;
  const x = options.execution ?? new Execution();
  const driver = executionDriver(x, strategy);

  const shard = options.shard ?? null;
  const self = selfSharding(strategy);
  const calibrating = self === null ? calibration(strategy) : 0;
  const stopAfter = options.stopAfter ?? (() => Number.POSITIVE_INFINITY);
  // dfs counts its own executions against its share of the budget; the others
  // run the owned indices below it.
  const budget = self !== null ? ownedBelow(shard, maxExecutions) : Number.POSITIVE_INFINITY;
  const claims = self !== null ? (options.claims ?? null) : null;
  const shared = claims !== null && budget < 2 ** 31 ? claims : null;
  const ledger = new Ledger(claims !== null);

  const t0 = clock();
  let nextProgress = t0 + interval;
  let executions = 0;
  let runs = 0;
  let index = -1;
  let maxDepth = 0;
  let truncated = 0;
  let redundant = 0;
  // Executions (owned ones) in which the model's mutant acted; -1 while no instance has shown one (Instance.mutation).
  let mutantActed = -1;
  let stoppedBy: StopReason = 'max-executions';
  let violation: Violation | null = null;
  let violationExecution: number | null = null;
  let schedule: Schedule | null = null;
  let modelBug: ModelBugReport | null = null;
  let firstCex: number | null = null;
  let stopUnit: number | null = null;

  for (;;) {
    if (self !== null) {
      if ((shared !== null ? shared.spent() : executions) >= budget) {
        // A dfs knows its walk is done only when asked for the next execution: a
        // budget that ran out on the last one leaves it exhausted. (Asking may
        // claim a unit of a shared split that nobody then runs: that part, and so
        // the whole, is then not exhausted, as it is not.)
        if (!strategy.beginExecution(x)) stoppedBy = 'exhausted';
        break;
      }
      index = executions;
    } else {
      index = nextIndex(shard, index + 1, calibrating);
      if (index >= maxExecutions) break;
    }
    x.index = index;
    if (!strategy.beginExecution(x)) {
      stoppedBy = 'exhausted';
      break;
    }
    const unit = self !== null ? self.currentUnit() : index;
    const probe = self !== null ? self.probing() : !owns(shard, index);
    if (!probe && unit > stopAfter()) {
      stoppedBy = 'elsewhere';
      break;
    }
    if (!probe && shared !== null && !shared.spend(budget)) break;
    let inst: Instance;
    try {
      // Without tracking awaited events: a run cut is replayed to say what is pending (runExecution).
      inst = factory({ log: false, progress: false });
    } catch (e) {
      modelBug = bugReport(e, { choices: [], draws: [] });
      stoppedBy = 'model-bug';
      stopUnit = unit;
      break;
    }
    inst.rt.driver = driver;
    x.start(inst, index);
    const outcome = runExecution(x, strategy, limits, factory);
    strategy.endExecution(x, outcome);
    runs++;
    // A probe only teaches the strategy; the part that owns its unit counts it.
    if (!probe) {
      executions++;
      const mutation = inst.mutation;
      if (mutation !== undefined) mutantActed = Math.max(mutantActed, 0) + (mutation.acted > 0 ? 1 : 0);
      ledger.add(unit, x.step, outcome);
      if (x.step > maxDepth) maxDepth = x.step;
      if (outcome === 'violation') {
        violation = inst.violations[0];
        // A dfs part numbers only its own executions; merging numbers them all.
        violationExecution = self !== null && ((shard !== null && shard.count > 1) || claims !== null) ? null : index;
        schedule = x.schedule();
        firstCex = clock() - t0;
        stoppedBy = 'violation';
        stopUnit = unit;
        break;
      }
      if (outcome === 'model-bug') {
        modelBug = bugReport(x.error, x.schedule());
        stoppedBy = 'model-bug';
        stopUnit = unit;
        break;
      }
    } else if (outcome === 'violation' || outcome === 'model-bug') continue;
    inst.dispose?.();
    if (!probe) {
      if (outcome === 'truncated') truncated++;
      else if (outcome === 'redundant') redundant++;
    }
    // Reading the clock costs as much as a tiny execution: every 16th will do.
    if ((runs & 15) !== 0) continue;
    const now = clock();
    if (now - t0 >= timeLimit) {
      stoppedBy = 'time-limit';
      break;
    }
    if (options.interrupted?.()) {
      stoppedBy = 'interrupted';
      break;
    }
    if (progress !== null && now >= nextProgress) {
      nextProgress = now + interval;
      progress.update({
        strategy: strategy.name,
        executions,
        executionsPerSec: (executions * 1000) / Math.max(now - t0, 1e-3),
        depth: maxDepth,
        elapsedMs: now - t0,
      });
    }
  }
  if (stopUnit !== null) options.onStop?.(stopUnit);
  const wallMs = clock() - t0;
  progress?.end();
  return {
    summary: {
      strategy: strategy.name,
      executions,
      exhausted: strategy.exhausted(),
      stoppedBy,
      maxDepth,
      truncated,
      redundant,
      wallMs,
      executionsPerSec: (executions * 1000) / Math.max(wallMs, 1e-3),
      firstCounterexampleMs: firstCex,
      violationExecution,
      // Not at a stop, its own or another part's: parts side by side may each run past the first one, and merged runs cut there (merge.ts).
      ...(mutantActed >= 0 && stopUnit === null && stoppedBy !== 'elsewhere' ? { mutantActedExecutions: mutantActed } : {}),
      ...boundLevelsOf(strategy),
    },
    violation,
    schedule,
    modelBug,
    part: ledger.record(shard ?? { index: 0, count: 1 }, stopUnit),
  };
}

/** The first index from `from` that the part runs: every one while calibrating, then its own. */
function nextIndex(shard: Shard | null, from: number, calibrating: number): number {
  if (shard === null || from < calibrating) return from;
  return from + ((((shard.index - from) % shard.count) + shard.count) % shard.count);
}
