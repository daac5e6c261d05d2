import type { Instance, Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import { executionDriver } from './driver.js';
import { Execution } from './execution.js';
import type { InstanceFactory } from './factory.js';
import type { ProgressSink } from './progress.js';
import type { SpinProgress } from './spin.js';
import { type RunLimits, runExecution } from './run.js';
import type { Strategy } from './strategy.js';
import type { StopReason, Summary } from './summary.js';

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
  /** Where progress goes (default: nowhere). */
  progress?: ProgressSink | null;
  /** Time between progress updates, ms (default 250). */
  progressIntervalMs?: number;
  /** The wall clock, ms (default performance.now). */
  clock?: () => number;
}

/** The model threw while running: it is inconsistent, which is reported apart from violations. */
export interface ModelBugReport {
  /** The exception's message. */
  message: string;
  /** Its stack, when it has one. */
  stack: string | null;
  /** Replays the execution up to the throw. */
  schedule: Schedule;
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
}

/** Defaults of RunLimits. */
export const DEFAULT_MAX_STEPS = 10_000;

/** The RunLimits implied by explore options. */
export function runLimits(options: ExploreOptions): RunLimits {
  return {
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
    fairSpin: options.fairSpin ?? true,
    spinProgress: options.spinProgress ?? 'footprint',
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
  const x = new Execution();
  const driver = executionDriver(x, strategy);

  const t0 = clock();
  let nextProgress = t0 + interval;
  let executions = 0;
  let maxDepth = 0;
  let truncated = 0;
  let redundant = 0;
  let stoppedBy: StopReason = 'max-executions';
  let violation: Violation | null = null;
  let schedule: Schedule | null = null;
  let modelBug: ModelBugReport | null = null;
  let firstCex: number | null = null;

  while (executions < maxExecutions) {
    x.index = executions;
    if (!strategy.beginExecution(x)) {
      stoppedBy = 'exhausted';
      break;
    }
    let inst: Instance;
    try {
      inst = factory({ log: false });
    } catch (e) {
      modelBug = bugReport(e, { choices: [], draws: [] });
      stoppedBy = 'model-bug';
      break;
    }
    inst.rt.driver = driver;
    x.start(inst, executions);
    const outcome = runExecution(x, strategy, limits);
    strategy.endExecution(x, outcome);
    executions++;
    if (x.step > maxDepth) maxDepth = x.step;
    if (outcome === 'violation') {
      violation = inst.violations[0];
      schedule = x.schedule();
      firstCex = clock() - t0;
      stoppedBy = 'violation';
      break;
    }
    if (outcome === 'model-bug') {
      modelBug = bugReport(x.error, x.schedule());
      stoppedBy = 'model-bug';
      break;
    }
    inst.dispose?.();
    if (outcome === 'truncated') truncated++;
    else if (outcome === 'redundant') redundant++;
    // Reading the clock costs as much as a tiny execution: every 16th will do.
    if ((executions & 15) !== 0) continue;
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
    },
    violation,
    schedule,
    modelBug,
  };
}

function bugReport(e: unknown, schedule: Schedule): ModelBugReport {
  const err = e instanceof Error ? e : null;
  return {
    message: err !== null ? `${err.name}: ${err.message}` : String(e),
    stack: err?.stack ?? null,
    schedule,
  };
}
