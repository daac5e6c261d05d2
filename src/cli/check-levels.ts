import { BoundLevels, levelOptions, type LevelPhase, type Progress, type StrategySpec, type Summary } from '../check/index.js';
import { oneUnit } from '../check/ledger.js';
import type { PartsRun } from './check-workers.js';
import type { Job } from './offload.js';

type CheckJob = Extract<Job, { kind: 'check' }>;
type DfsSpec = Extract<StrategySpec, { kind: 'dfs' }>;

/** Runs one check job (a level) on `workers` worker threads, as checkInWorkers does. */
export type RunLevel = (job: CheckJob, workers: number, onProgress?: (p: Progress) => void) => Promise<PartsRun>;

/**
 * dfs with an iterative preemption bound, each level a check of its own on
 * `workers` threads: a bounded level with explored states is one DFS whoever
 * runs its subtrees (check-workers.ts), and a try of the whole space, which
 * has a budget spent in one DFS's order, runs on one. The levels come in the
 * order IterativeBoundStrategy runs them in one exploration (BoundLevels), and
 * their figures add up to that exploration's: the same summary for any number
 * of workers, levels and all (wall times aside). The figures by unit are one
 * unit: each level numbers its units from 0.
 */
export async function checkLevels(job: CheckJob, workers: number, run: RunLevel, interrupted: () => boolean, onProgress?: (p: Progress) => void): Promise<PartsRun> {
  const { kind: _kind, iterative: _iterative, preemptionBound: maxBound, ...dfs } = job.options.strategy as DfsSpec;
  const plan = new BoundLevels(maxBound);
  const started = Date.now();
  const limit = job.options.maxExecutions ?? Number.POSITIVE_INFINITY;
  const total = { executions: 0, maxDepth: 0, truncated: 0, redundant: 0 };
  let stoppedBy: Summary['stoppedBy'] = 'exhausted';
  let last: PartsRun['result'] | null = null;
  let firstCounterexampleMs: number | null = null;
  let violationExecution: number | null = null;
  for (let phase = plan.phase(); phase !== null; ) {
    const left = limit - total.executions;
    const timeLeft = job.options.timeLimitMs === undefined ? undefined : job.options.timeLimitMs - (Date.now() - started);
    if (left <= 0 || (timeLeft !== undefined && timeLeft <= 0) || interrupted()) {
      stoppedBy = left <= 0 ? 'max-executions' : interrupted() ? 'interrupted' : 'time-limit';
      break;
    }
    const budget = phase.preemptionBound === null ? Math.min(phase.budget, left) : left;
    const before = { executions: total.executions, ms: Date.now() - started };
    const level: CheckJob = {
      ...job,
      options: {
        ...job.options,
        strategy: { kind: 'dfs', ...levelOptions(dfs, phase) },
        maxExecutions: Number.isFinite(budget) ? budget : undefined,
        timeLimitMs: timeLeft === undefined ? undefined : Math.max(1, timeLeft),
      },
    };
    const r = (await run(level, phase.preemptionBound === null ? 1 : workers, shifted(onProgress, before))).result;
    const s = r.summary;
    last = r;
    plan.count(s.executions);
    total.executions += s.executions;
    total.maxDepth = Math.max(total.maxDepth, s.maxDepth);
    total.truncated += s.truncated;
    total.redundant += s.redundant;
    if (s.firstCounterexampleMs !== null) firstCounterexampleMs = before.ms + s.firstCounterexampleMs;
    if (s.violationExecution !== null) violationExecution = before.executions + s.violationExecution;
    const next = ended(phase, s, total.executions < limit);
    if (next === null) {
      stoppedBy = s.stoppedBy;
      break;
    }
    phase = plan.end(next.exhausted, r.boundCut === true);
  }
  const wallMs = Date.now() - started;
  const summary: Summary = {
    strategy: 'dfs',
    executions: total.executions,
    exhausted: plan.phase() === null && plan.exhausted(),
    stoppedBy,
    maxDepth: total.maxDepth,
    truncated: total.truncated,
    redundant: total.redundant,
    wallMs,
    executionsPerSec: (total.executions * 1000) / Math.max(wallMs, 1e-3),
    firstCounterexampleMs,
    violationExecution,
    preemptionBounds: plan.levels.map((l) => ({ ...l })),
  };
  const stopped = stoppedBy === 'violation' || stoppedBy === 'model-bug';
  const lead = stopped ? last : null;
  return {
    result: {
      summary,
      violation: lead?.violation ?? null,
      counterexample: lead?.counterexample ?? null,
      minimisation: lead?.minimisation ?? null,
      modelBug: lead?.modelBug ?? null,
      schedule: lead?.schedule ?? null,
    },
    parts: [{ summary, part: oneUnit(total, stopped) }],
  };
}

/**
 * How a level that ran `s` ended: on its own (its whole space, or a try at its
 * budget while the exploration's own is not spent: `more`), and then whether it
 * was exhausted; or null when something stopped the exploration there.
 */
function ended(phase: LevelPhase, s: Summary, more: boolean): { exhausted: boolean } | null {
  if (s.stoppedBy === 'exhausted') return { exhausted: s.exhausted };
  if (phase.preemptionBound === null && s.stoppedBy === 'max-executions' && more) return { exhausted: s.exhausted };
  return null;
}

/** Progress of a level as that of the whole: its executions and time after those of the levels before. */
function shifted(onProgress: ((p: Progress) => void) | undefined, before: { executions: number; ms: number }): ((p: Progress) => void) | undefined {
  if (onProgress === undefined) return undefined;
  return (p) => {
    const elapsedMs = before.ms + p.elapsedMs;
    const executions = before.executions + p.executions;
    onProgress({ ...p, executions, elapsedMs, executionsPerSec: (executions * 1000) / Math.max(elapsedMs, 1e-3) });
  };
}
