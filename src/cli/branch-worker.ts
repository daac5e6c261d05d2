/**
 * A worker thread that explores branches of a DFS's top on demand (see
 * branch-workers.ts): told a run of branches, it explores them in order and
 * posts their outcomes; told a violation, it builds the counterexample.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { exploreBranch } from '../check/branch.js';
import { counterexampleOf } from '../check/index.js';
import { factoryFor } from './check-factory.js';
import type { BranchJob, BranchReply, BranchTask } from './branch-workers.js';

const { job, shared } = workerData as { job: BranchJob; shared: SharedArrayBuffer };
const flags = new Int32Array(shared);
const factory = factoryFor(job.ref, job.sets, job.mutant);
const { strategy, ...options } = job.options;
const dfs = { ...strategy, seed: strategy.seed ?? options.seed };
const interrupted = () => Atomics.load(flags, 0) !== 0;
const remaining = () => (job.deadline === null ? undefined : job.deadline - Date.now());

parentPort!.on('message', (task: BranchTask) => {
  let reply: BranchReply;
  try {
    if (task.kind === 'branch') {
      const startedAt = Date.now();
      reply = { kind: 'branch', startedAt, outcome: exploreBranch(factory, dfs, task.branch.prefix, task.depth, { ...options, interrupted, timeLimitMs: remaining() }, task.branch.tried) };
    } else reply = { kind: 'counterexample', result: counterexampleOf(factory, task.violation, task.schedule, 'dfs', options) };
  } catch (e) {
    reply = { kind: 'error', name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) };
  }
  parentPort!.postMessage(reply);
});
