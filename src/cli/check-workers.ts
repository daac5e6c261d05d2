import { UnitClaims } from '../check/claims.js';
import { defaultPor } from '../check/dfs.js';
import {
  type CheckResult,
  combineStriped,
  counterexampleOf,
  type ExplorePart,
  findingsOf,
  mergeParts,
  type Progress,
  type Shard,
  type StrategySpec,
  subShard,
} from '../check/index.js';
import { oneEntry, oneUnit } from '../check/ledger.js';
import { mergeClaimed } from '../check/merge.js';
import { DEFAULT_MAX_STATES, SharedStateCache } from '../check/shared-state-cache.js';
import { SharedBound } from '../check/stop-bound.js';
import { type BranchesFound, checkBranchesInWorkers } from './branch-workers.js';
import { factoryFor } from './check-factory.js';
import { checkInPhases } from './check-phases.js';
import { type Job, runOffloaded } from './offload.js';

type CheckJob = Extract<Job, { kind: 'check' }>;

/** How the CLI watches a run: whether it was interrupted, and its progress. */
type Watch = [interrupted: () => boolean, onProgress?: (p: Progress) => void];

/** A check run as parts: the merged result, and each part's figures by unit (for the JSON, and a later merge). */
export interface PartsRun {
  result: Omit<CheckResult, 'part'>;
  parts: ExplorePart[];
}

/**
 * Runs `shard` of the exploration (the whole with null) as `workers` parts on
 * as many worker threads, and merges them here. random and pct executions cost
 * alike, so they are striped: part w of shard i/n is i + n·w of n·workers.
 * dfs subtrees do not (a few can hold most executions), so the workers take
 * the shard's subtrees on demand, and their figures are combined into the
 * shard's single part: the same as one worker with the same split, whoever
 * ran which subtree. The first part to stop on a violation tells the others,
 * through shared memory, the unit past which they need not go; the merge then
 * keeps, from every part, only what the single-threaded run would have done,
 * in the summary and in each part's record (cut at that unit, as it would be
 * had the part known of it from the start: see mergeParts).
 * A part that finds a violation builds (and minimises) its counterexample
 * where it runs, while the others finish the units before it: that of the
 * violation that comes first is kept. (Building only that one, once all parts
 * are done, cost a worker's start, about 0.3 s, plus the minimisation, after
 * the exploration.) One worker runs the job as it is.
 */
export async function checkInWorkers(
  job: CheckJob,
  shard: Shard | null,
  workers: number,
  interrupted: () => boolean,
  onProgress?: (p: Progress) => void,
): Promise<PartsRun> {
  if (runsInPhases(job, shard, workers))
    return checkInPhases(job, workers, (phase, w, p) => checkInWorkers(phase, null, w, interrupted, p), interrupted, onProgress);
  // A dfs budget is spent in the order of one DFS, which parts side by side do
  // not keep: which executions fit in it, and so the figures, would depend on
  // timing (DPOR with --max-executions 3000: max depth 113 on two workers, 108
  // on one, redundant 583 or 584 from run to run).
  if (job.options.strategy.kind === 'dfs' && job.options.maxExecutions !== undefined) workers = 1;
  if (sharesStates(job, shard)) {
    const started = Date.now();
    // Parts side by side take the biggest units first; one part takes them as one DFS would.
    const first = { ...job, states: statesTable(job), fewestPreemptionsFirst: workers > 1 };
    const run = await runParts(first, null, workers, interrupted, onProgress);
    if (workers === 1 || !foundFirst(run)) return collapsed(run);
    // Which violation (or model bug) parts side by side come to first depends on
    // timing: the one a single part finds, as --workers 1 reports it, in the time left.
    const again = { ...timeLeft(job, started), states: statesTable(job) };
    const one = collapsed(await runParts(again, null, 1, interrupted, onProgress));
    // Cut short before it: the violation found side by side stands (it is real, if maybe not the first).
    return foundFirst(one) ? one : collapsed(run);
  }
  if (sharesBranches(job, shard)) {
    const started = Date.now();
    const shared = await checkBranchesInWorkers(job, workers, interrupted, onProgress);
    if (!('sideBySide' in shared)) return shared;
    // A violation: the first one DFS finds, as --workers 1 reports it, in the time left.
    const one = await oneWorker(timeLeft(job, started), shard, interrupted, onProgress);
    return foundFirst(one) ? one : seenInBranches(job, shared.sideBySide, one);
  }
  if (workers <= 1) return oneWorker(job, shard, interrupted, onProgress);
  return runParts(job, shard, workers, interrupted, onProgress);
}

/** `job` (its `shard`) as one DFS would run it, on one worker thread. */
async function oneWorker(job: CheckJob, shard: Shard | null, ...[interrupted, onProgress]: Watch): Promise<PartsRun> {
  const r = await runOffloaded({ ...job, options: { ...job.options, shard } }, interrupted, onProgress);
  const { part, ...result } = r;
  // Phases as one unit, as they are when each phase runs on the workers.
  return { result, parts: [{ summary: r.summary, part: phased(job) !== null ? oneUnit(r.summary) : part }] };
}

/** The run came to a violation (or a model bug), not to a limit or SIGINT first. */
function foundFirst(run: PartsRun): boolean {
  return run.result.violation !== null || run.result.modelBug !== null;
}

/**
 * What the branches ran into, when the run as one DFS that was to report the
 * first violation was cut short (--time-limit, SIGINT) before it came to one:
 * the violation seen is real, so it is reported, with the figures of the run
 * cut short and its counterexample built here, unminimised (no time is left
 * to minimise it). It may not be the violation one DFS comes to first.
 */
export function seenInBranches(job: CheckJob, found: BranchesFound, cut: PartsRun): PartsRun {
  const { strategy, ...options } = job.options;
  const summary = { ...cut.result.summary, stoppedBy: 'violation' as const };
  const cex =
    found.violation === null
      ? null
      : counterexampleOf(factoryFor(job.ref, job.sets, job.mutant), found.violation, found.schedule, strategy.kind, { ...options, minimise: false });
  return {
    result: {
      ...cut.result,
      summary,
      violation: found.violation,
      modelBug: found.modelBug,
      schedule: found.schedule,
      counterexample: cex?.counterexample ?? null,
      minimisation: cex?.minimisation ?? null,
    },
    parts: cut.parts.map((p) => ({ ...p, summary })),
  };
}

/** A table of explored states for the parts of `job` (the room --max-states asks for). */
function statesTable(job: CheckJob): SharedArrayBuffer {
  const s = job.options.strategy;
  return SharedStateCache.buffer((s.kind === 'dfs' ? s.maxStates : undefined) ?? DEFAULT_MAX_STATES);
}

/** `job` with the time its limit leaves after `started` (ms since the epoch). */
function timeLeft(job: CheckJob, started: number): CheckJob {
  const limit = job.options.timeLimitMs;
  return limit === undefined ? job : { ...job, options: { ...job.options, timeLimitMs: Math.max(1, limit - (Date.now() - started)) } };
}

/**
 * `shard` (the whole with null) as `workers` parts on as many worker threads,
 * merged here: dfs parts take the subtrees of a split on demand (and share
 * job.states when given), random and pct parts are striped.
 */
async function runParts(job: CheckJob, shard: Shard | null, workers: number, ...[interrupted, onProgress]: Watch): Promise<PartsRun> {
  const bound = new SharedBound();
  const whole = shard ?? { index: 0, count: 1 };
  const claims = job.options.strategy.kind === 'dfs' ? new UnitClaims() : null;
  const partOf = (w: number) => (claims !== null ? whole : subShard(shard, w, workers));
  const latest: (Progress | undefined)[] = [];
  const report = (w: number, p: Progress) => {
    latest[w] = p;
    onProgress?.(combine(latest));
  };
  const settled = await Promise.allSettled(
    Array.from({ length: workers }, (_, w) =>
      runOffloaded({ ...job, bound: bound.buffer, claims: claims?.buffer, options: { ...job.options, shard: partOf(w) } }, interrupted, (p) =>
        report(w, p),
      ).catch((e: unknown) => {
        bound.lower(-1); // the others stop at once: the run failed
        throw e;
      }),
    ),
  );
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  const results = settled.map((s) => (s as PromiseFulfilledResult<CheckResult>).value);
  let parts = results.map((r) => ({ summary: r.summary, part: r.part }));
  let m: { summary: CheckResult['summary']; first: number | null };
  if (claims !== null) {
    const c = mergeClaimed(parts, whole);
    parts = [c.part];
    m = { summary: c.part.summary, first: c.first };
  } else {
    const merged = mergeParts(parts);
    m = merged;
    // How far past the first violation a part ran depends on when it heard of it: each is recorded cut there,
    // and the parts are then the one part of one worker, unless a time limit left a hole.
    parts = [combineStriped(merged, whole) ?? merged.parts].flat();
  }
  const lead = m.first === null ? null : results[m.first]!;
  return {
    result: {
      summary: m.summary,
      ...findingsOf(lead),
      // One DFS's bound cut something when one of its parts' did.
      boundCut: results.some((r) => r.boundCut === true),
      ...lostOf(results),
    },
    parts,
  };
}

/**
 * Whether dfs with explored states (por 'states': a preemption bound) runs
 * as parts that take the subtrees of a split on demand and share one table of
 * explored states, each state explored once by whichever part comes to it
 * first: with any number of workers, one included, the same executions and
 * so the same JSON (the table's capacity allowing). A --shard part cannot
 * share with the other parts; its subtrees each remember their own states.
 */
export function sharesStates(job: CheckJob, shard: Shard | null): boolean {
  const s = job.options.strategy;
  return shard === null && s.kind === 'dfs' && s.iterative !== true && defaultPor(s) === 'states';
}

/**
 * Whether a check that runs strategies in turn runs phase by phase on several
 * workers, each phase a check of its own (check-phases.ts): dfs with an
 * iterative preemption bound whose levels explore states (the default: a
 * bounded level is one DFS on any number of workers), and auto (PCT, then
 * those levels). One worker runs the phases in one exploration, without a
 * job per phase: the same figures. Not with --shard: the phases cannot be
 * split into parts.
 */
export function runsInPhases(job: CheckJob, shard: Shard | null, workers: number): boolean {
  const s = phased(job);
  return workers > 1 && shard === null && s !== null && s.por !== 'dpor';
}

/** The strategy when the check runs strategies in turn (the iterative bound's levels, or auto's PCT then levels), else null. */
function phased(job: CheckJob): Extract<StrategySpec, { kind: 'auto' | 'dfs' }> | null {
  const s = job.options.strategy;
  return s.kind === 'auto' || (s.kind === 'dfs' && s.iterative === true) ? s : null;
}

/** The states the parts' tables lost, added up (absent when none: see CheckResult.statesLost). */
export function lostOf(results: readonly Pick<CheckResult, 'statesLost'>[]): Pick<CheckResult, 'statesLost'> {
  const lost = results.reduce((a, r) => a + (r.statesLost ?? 0), 0);
  return lost > 0 ? { statesLost: lost } : {};
}

/**
 * The run with its figures in one entry of the ledger: parts sharing states
 * split the executions between the units in an order that depends on timing
 * (which part came to a state first), while their sum does not.
 */
function collapsed(run: PartsRun): PartsRun {
  return { ...run, parts: run.parts.map((p) => ({ ...p, part: oneEntry(p.part) })) };
}

/**
 * Whether workers share out the top of the DFS branch by branch (branch-rounds.ts)
 * rather than take the subtrees of a fixed split: dfs with DPOR on the whole
 * tree, with no execution budget (a budget is spent in the order of one DFS,
 * which branches do not keep). dfs with por 'states' (a preemption bound)
 * takes the subtrees of a split: its states are remembered per subtree, and a
 * branch of the top is too small a subtree to remember much.
 *
 * One worker explores in branches too, so that --workers 1 and --workers K
 * give the same JSON: the branches reach the traces one DFS reaches, but not
 * always in as many executions (fault-vs-invalidation-mini 2x1x1 with bound 2:
 * 2,301 against 2,325; unbounded, 82,337 against 74,193 as of 2026-12-08, where 1x2x1, 1x2x2
 * and 1x3x1 run exactly one DFS's). In one thread they take about the time one
 * DFS takes (3x2x1 with bound 2: 4.7 s against 4.8 s; 2x1x1 unbounded: 3.4 s
 * against 3.2 s).
 */
export function sharesBranches(job: CheckJob, shard: Shard | null): boolean {
  const s = job.options.strategy;
  return shard === null && s.kind === 'dfs' && s.iterative !== true && defaultPor(s) === 'dpor' && job.options.maxExecutions === undefined;
}

/** One progress line for parts running side by side. */
function combine(ps: readonly (Progress | undefined)[]): Progress {
  const seen = ps.filter((p): p is Progress => p !== undefined);
  return {
    strategy: seen[0]!.strategy,
    executions: seen.reduce((a, p) => a + p.executions, 0),
    executionsPerSec: seen.reduce((a, p) => a + p.executionsPerSec, 0),
    depth: Math.max(...seen.map((p) => p.depth)),
    elapsedMs: Math.max(...seen.map((p) => p.elapsedMs)),
  };
}
