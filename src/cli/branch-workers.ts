import type { Worker } from 'node:worker_threads';
import type { Branch, BranchOutcome } from '../check/branch.js';
import { firstExecution, topDepthFor } from '../check/branch.js';
import { BranchFlow, type FlowBranch, flowResult } from '../check/branch-flow.js';
import { guessRoundOne } from '../check/branch-rounds.js';
import type { ModelBugReport } from '../check/index.js';
import { checkResult, type Progress, type StrategySpec } from '../check/index.js';
import type { Violation } from '../runtime/instance.js';
import type { Schedule } from '../runtime/schedule.js';
import { GuessedBranches, MAX_GUESSES } from './branch-guesses.js';
import { factoryFor } from './check-factory.js';
import type { PartsRun } from './check-workers.js';
import { type Job, startWorker } from './offload.js';
import { mark } from './timeline.js';
import { errorFromData } from './worker-error.js';

type CheckJob = Extract<Job, { kind: 'check' }>;

/** What a branch worker is started with: the check, and when its time runs out (ms since the epoch). */
export interface BranchJob {
  ref: string;
  sets: string[];
  mutant: string | null;
  options: CheckJob['options'] & { strategy: Extract<StrategySpec, { kind: 'dfs' }> };
  deadline: number | null;
}

/** What a branch worker is asked; `cancel`: the slot of the shared flags that calls the branch off (a guess: branch-guesses.ts). */
export type BranchTask = { kind: 'branch'; branch: Branch; depth: number; cancel?: number };

/** What it answers. */
export type BranchReply =
  /** startedAt: when the worker began the branch, ms since the epoch. */
  { kind: 'branch'; startedAt: number; outcome: BranchOutcome } | { kind: 'error'; name: string; message: string };

/** A violation (or model bug) a branch ran into, with its schedule, and the executions run until then. */
export interface BranchesFound {
  violation: Violation | null;
  modelBug: ModelBugReport | null;
  schedule: Schedule;
  executions: number;
}

/**
 * dfs with a preemption bound on `workers` worker threads, its top shared out
 * branch by branch (branch-rounds.ts): each worker takes the next branch as
 * it comes free, and the branches each outcome settles are asked for here
 * (branch-flow.ts). The result does not depend on how many workers ran it,
 * nor on who ran which branch. A violation (or a model bug) stops them all
 * and returns the first one seen (`sideBySide`): the first violation in the
 * rounds' order may wait on branches as big as the whole search (unbounded,
 * minutes after the bug was seen in 0.07 s), so the caller runs the check as
 * one DFS instead, which stops at its first violation, and reports that run
 * (as --workers 1 would); the one seen here is what it reports when that run
 * is cut short first.
 */
export async function checkBranchesInWorkers(
  job: CheckJob,
  workers: number,
  interrupted: () => boolean,
  onProgress?: (p: Progress) => void,
): Promise<PartsRun | { sideBySide: BranchesFound }> {
  // [0] set on SIGINT, [1] when a branch found a violation: the workers stop the branch they are in;
  // then one slot per guess, set when it is called off.
  const shared = new SharedArrayBuffer(4 * (2 + MAX_GUESSES));
  const flags = new Int32Array(shared);
  // The exploration's time starts when a worker begins the first branch (as
  // one worker's does, which leaves out the thread's start).
  let t0 = Number.POSITIVE_INFINITY;
  const deadline = job.options.timeLimitMs === undefined ? null : Date.now() + job.options.timeLimitMs;
  const branchJob: BranchJob = { ref: job.ref, sets: job.sets, mutant: job.mutant, options: job.options as BranchJob['options'], deadline };
  const pool = Array.from({ length: workers }, () => {
    mark('spawn');
    return new Asker(startWorker('branch-worker', { job: branchJob, shared }));
  });
  // The top's depth is learnt here, from one execution, while the workers start; with
  // workers to spare, what round 1 will likely be, from the root branch's first execution.
  const { strategy, ...options } = job.options as BranchJob['options'];
  const factory = factoryFor(job.ref, job.sets, job.mutant);
  const dfs = { ...strategy, seed: strategy.seed ?? options.seed };
  mark('probe-start');
  let depth: number;
  let guesses: GuessedBranches | null;
  try {
    depth = topDepthFor(factory, dfs, options);
    guesses = workers > 1 ? new GuessedBranches(guessRoundOne(firstExecution(factory, dfs, depth, options)), flags) : null;
  } catch (e) {
    for (const w of pool) void w.worker.terminate();
    throw e;
  }
  mark('probe-end', { depth });
  const poll = setInterval(() => {
    if (interrupted()) Atomics.store(flags, 0, 1);
  }, 50);
  try {
    const flow = new BranchFlow();
    let executions = 0;
    let abandoned = false;
    let lastProgress = Date.now();
    let maxDepth = 0;
    let found: BranchesFound | undefined;
    let wake: (() => void)[] = [];
    const notify = () => {
      for (const f of wake.splice(0)) f();
    };
    // A guess taken is waited for beside the drives, which go on asking their workers.
    const beside: Promise<void>[] = [];
    let failed: (e: unknown) => void = () => {};
    const failure = new Promise<never>((_, reject) => {
      failed = reject;
    });
    failure.catch(() => {});
    const settle = async (b: FlowBranch, reply: Promise<BranchReply>, guessed = false) => {
      const { startedAt, outcome: o } = (await reply) as Extract<BranchReply, { kind: 'branch' }>;
      if (startedAt < t0) t0 = startedAt;
      mark('branch', { round: b.round, depth: b.prefix.length, executions: o.executions, guessed });
      executions += o.executions;
      if (o.maxDepth > maxDepth) maxDepth = o.maxDepth;
      if (o.stoppedBy === 'violation' || o.stoppedBy === 'model-bug') {
        Atomics.store(flags, 1, 1);
        found ??= { violation: o.violation, modelBug: o.modelBug, schedule: o.schedule!, executions };
      }
      if (o.stoppedBy !== 'exhausted') {
        abandoned = true;
        flow.abandon();
      }
      flow.finish(b, o);
      if (b.round === 0) guesses?.roundOneKnown((key) => flow.asked(key));
      notify();
      const now = Date.now();
      if (onProgress !== undefined && now - lastProgress >= 250) {
        lastProgress = now;
        onProgress({ strategy: 'dfs', executions, executionsPerSec: (executions * 1000) / Math.max(now - t0, 1e-3), depth: maxDepth, elapsedMs: now - t0 });
      }
    };
    const drive = async (w: Asker) => {
      for (;;) {
        if (!abandoned && Atomics.load(flags, 0) !== 0) {
          abandoned = true;
          flow.abandon();
          notify();
        }
        const b = flow.take();
        if (b === undefined) {
          if (flow.done()) return;
          await new Promise<void>((resolve) => wake.push(resolve));
          continue;
        }
        const guessed = guesses?.take(b);
        if (guessed !== undefined) {
          beside.push(settle(b, guessed, true).catch(failed));
          continue;
        }
        await settle(b, w.ask({ kind: 'branch', branch: { prefix: b.prefix, tried: b.tried, spun: b.spun }, depth }));
      }
    };
    // While round 0 runs alone, the workers but the first explore guesses of round 1.
    for (const w of pool.slice(1)) void guesses?.explore((task) => w.ask(task), depth);
    // Two branches asked of each worker, so that it never waits for the next.
    await Promise.race([Promise.all([...pool, ...pool].map(drive)), failure]);
    await Promise.all(beside);
    wake = [];
    if (guesses !== null && guesses.firstStart < t0) t0 = guesses.firstStart;
    if (Atomics.load(flags, 1) !== 0 && Atomics.load(flags, 0) === 0) {
      // Not necessarily the violation one DFS comes to first: the caller looks for that one.
      return { sideBySide: found! };
    }
    if (t0 === Number.POSITIVE_INFINITY) t0 = Date.now();
    mark('branches-done', { executions });
    const r = flowResult(flow, depth, Date.now() - t0, abandoned);
    // Cut short, the replay may stop at a branch that never ran rather than at the one that saw the limit.
    if (abandoned) r.summary.stoppedBy = Atomics.load(flags, 0) !== 0 ? 'interrupted' : 'time-limit';
    const { part, ...result } = checkResult(r, null);
    return { result, parts: [{ summary: r.summary, part }] };
  } finally {
    clearInterval(poll);
    for (const w of pool) void w.worker.terminate();
  }
}

/** Questions to a branch worker, answered in the order asked. */
class Asker {
  private readonly pending: { resolve: (r: BranchReply) => void; reject: (e: unknown) => void }[] = [];

  constructor(readonly worker: Worker) {
    worker.on('message', (m: BranchReply) => {
      const p = this.take();
      if (m.kind !== 'error') p?.resolve(m);
      else p?.reject(errorFromData(m));
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`branch worker exited with code ${code} before answering`)));
  }

  ask(task: BranchTask): Promise<BranchReply> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.worker.postMessage(task);
    });
  }

  private take() {
    return this.pending.shift();
  }

  private failAll(e: unknown): void {
    for (const p of this.pending.splice(0)) p.reject(e);
  }
}
