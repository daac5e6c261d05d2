import { AUTO_PCT, type BoundLevel, BoundLevels, findingsOf, levelOptions, type Progress, type StrategySpec, type Summary } from '../check/index.js';
import { oneUnit } from '../check/ledger.js';
import type { StopReason } from '../check/summary.js';
import type { PartsRun } from './check-workers.js';
import type { Job } from './offload.js';

type CheckJob = Extract<Job, { kind: 'check' }>;
type DfsSpec = Extract<StrategySpec, { kind: 'dfs' }>;

/** Runs one check job (a phase) on `workers` worker threads, as checkInWorkers does. */
export type RunPhase = (job: CheckJob, workers: number, onProgress?: (p: Progress) => void) => Promise<PartsRun>;

/**
 * A check that runs strategies in turn, each phase a check of its own on
 * `workers` threads, with the figures of one exploration running them in
 * turn (the same summary for any number of workers, wall times aside):
 *
 * - dfs with an iterative preemption bound: its levels, in the order
 *   IterativeBoundStrategy runs them (BoundLevels). A bounded level with
 *   explored states is one DFS whoever runs its subtrees (check-workers.ts);
 *   a try of the whole space, whose budget is spent in one DFS's order, runs
 *   on one worker.
 * - auto: PCT's executions (striped over the workers, as pct is), then those levels;
 *   PCT's are all of one when the world has only one (PctStrategy).
 *
 * The figures by unit are one unit: each phase numbers its units from 0.
 */
export async function checkInPhases(
  job: CheckJob,
  workers: number,
  run: RunPhase,
  interrupted: () => boolean,
  onProgress?: (p: Progress) => void,
): Promise<PartsRun> {
  const phases = new Phases(job, run, interrupted, onProgress);
  const s = job.options.strategy;
  if (s.kind === 'auto') {
    const { kind: _kind, pctExecutions, ...dfs } = s;
    const stop = phases.stopBefore();
    if (stop !== null) return phases.result('pct', false, stop);
    // PortfolioStrategy's first phase.
    const pct = await phases.add({ kind: 'pct', depth: AUTO_PCT.depth }, Math.min(pctExecutions ?? AUTO_PCT.executions, phases.left()), workers);
    // PCT ends on its own (exhausted) in a world of one execution (pct.ts): the levels then run it once more and say so, as in one exploration.
    const pctDone = pct.stoppedBy === 'max-executions' || pct.stoppedBy === 'exhausted';
    if (!pctDone || phases.left() <= 0) return phases.result('pct', false, pct.stoppedBy);
    return levels(phases, dfs, workers);
  }
  if (s.kind !== 'dfs') throw new RangeError(`check in phases: not for ${s.kind}`);
  return levels(phases, s, workers);
}

/** The levels of an iterative preemption bound, up to `spec.preemptionBound`. */
async function levels(phases: Phases, spec: Omit<DfsSpec, 'kind'>, workers: number): Promise<PartsRun> {
  const { iterative: _iterative, preemptionBound: maxBound, ...dfs } = spec;
  const plan = new BoundLevels(maxBound);
  for (let phase = plan.phase(); phase !== null; ) {
    const stop = phases.stopBefore();
    if (stop !== null) return phases.result('dfs', false, stop, plan.levels);
    const budget = phase.preemptionBound === null ? Math.min(phase.budget, phases.left()) : phases.left();
    const s = await phases.add({ kind: 'dfs', ...levelOptions(dfs, phase) }, budget, phase.preemptionBound === null ? 1 : workers);
    plan.count(s.executions);
    // A level ends on its own when it ran its space, and a try also at its own budget.
    const tryEnded = phase.preemptionBound === null && s.stoppedBy === 'max-executions' && phases.left() > 0;
    if (s.stoppedBy !== 'exhausted' && !tryEnded) return phases.result('dfs', false, s.stoppedBy, plan.levels);
    phase = plan.end(s.exhausted, phases.boundCut);
  }
  return phases.result('dfs', plan.exhausted(), 'exhausted', plan.levels);
}

/** The phases run so far, and what they add up to. */
class Phases {
  private readonly started = Date.now();
  private readonly total = { executions: 0, maxDepth: 0, truncated: 0, redundant: 0 };
  /** The phases' exploration time (as a single exploration's, without starting workers or minimising), ms. */
  private wallMs = 0;
  /** The last phase's result. */
  private last: PartsRun['result'] | null = null;
  private firstCounterexampleMs: number | null = null;
  private violationExecution: number | null = null;
  /** What the phases' tables of states lost (see CheckResult.statesLost). */
  private statesLost = 0;
  /** Executions the mutant acted in, over the phases; null while no phase counted any (no mutant). */
  private mutantActed: number | null = null;

  constructor(
    private readonly job: CheckJob,
    private readonly run: RunPhase,
    private readonly interrupted: () => boolean,
    private readonly onProgress?: (p: Progress) => void,
  ) {}

  /** Executions the job's budget leaves. */
  left(): number {
    return (this.job.options.maxExecutions ?? Number.POSITIVE_INFINITY) - this.total.executions;
  }

  private timeLeft(): number | undefined {
    const limit = this.job.options.timeLimitMs;
    return limit === undefined ? undefined : limit - (Date.now() - this.started);
  }

  /** What stops the exploration before the next phase, or null. */
  stopBefore(): StopReason | null {
    if (this.left() <= 0) return 'max-executions';
    if (this.interrupted()) return 'interrupted';
    const t = this.timeLeft();
    return t !== undefined && t <= 0 ? 'time-limit' : null;
  }

  /** The last phase was dfs whose preemption bound kept a thread from running. */
  get boundCut(): boolean {
    return this.last?.boundCut === true;
  }

  /** Runs `strategy` for at most `budget` executions on `workers`, in the time left, and adds up its figures. */
  async add(strategy: StrategySpec, budget: number, workers: number): Promise<Summary> {
    const before = { executions: this.total.executions, ms: this.wallMs };
    const t = this.timeLeft();
    const options = {
      ...this.job.options,
      strategy,
      maxExecutions: Number.isFinite(budget) ? budget : undefined,
      timeLimitMs: t === undefined ? undefined : Math.max(1, t),
    };
    const r = (await this.run({ ...this.job, options }, workers, shifted(this.onProgress, before))).result;
    const s = r.summary;
    this.last = r;
    this.statesLost += r.statesLost ?? 0;
    this.total.executions += s.executions;
    this.total.maxDepth = Math.max(this.total.maxDepth, s.maxDepth);
    this.total.truncated += s.truncated;
    this.total.redundant += s.redundant;
    if (s.mutantActedExecutions !== undefined) this.mutantActed = (this.mutantActed ?? 0) + s.mutantActedExecutions;
    this.wallMs += s.wallMs;
    if (s.firstCounterexampleMs !== null) this.firstCounterexampleMs = before.ms + s.firstCounterexampleMs;
    if (s.violationExecution !== null) this.violationExecution = before.executions + s.violationExecution;
    return s;
  }

  /** The run: named after its last phase's strategy, with the iterative bound's `levels` when it got to them. */
  result(strategy: string, exhausted: boolean, stoppedBy: StopReason, levels?: readonly BoundLevel[]): PartsRun {
    const wallMs = this.wallMs;
    const summary: Summary = {
      strategy,
      executions: this.total.executions,
      exhausted,
      stoppedBy,
      maxDepth: this.total.maxDepth,
      truncated: this.total.truncated,
      redundant: this.total.redundant,
      wallMs,
      executionsPerSec: (this.total.executions * 1000) / Math.max(wallMs, 1e-3),
      firstCounterexampleMs: this.firstCounterexampleMs,
      violationExecution: this.violationExecution,
      ...(this.mutantActed !== null && stoppedBy !== 'violation' && stoppedBy !== 'model-bug' ? { mutantActedExecutions: this.mutantActed } : {}),
      ...(levels !== undefined ? { preemptionBounds: levels.map((l) => ({ ...l })) } : {}),
    };
    const stopped = stoppedBy === 'violation' || stoppedBy === 'model-bug';
    return {
      result: { summary, ...findingsOf(stopped ? this.last : null), ...(this.statesLost > 0 ? { statesLost: this.statesLost } : {}) },
      parts: [{ summary, part: oneUnit(summary) }],
    };
  }
}

/** Progress of a phase as that of the whole: its executions and time after those of the phases before. */
function shifted(onProgress: ((p: Progress) => void) | undefined, before: { executions: number; ms: number }): ((p: Progress) => void) | undefined {
  if (onProgress === undefined) return undefined;
  return (p) => {
    const elapsedMs = before.ms + p.elapsedMs;
    const executions = before.executions + p.executions;
    onProgress({ ...p, executions, elapsedMs, executionsPerSec: (executions * 1000) / Math.max(elapsedMs, 1e-3) });
  };
}
