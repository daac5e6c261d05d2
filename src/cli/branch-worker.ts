/**
 * A worker thread that explores branches of a DFS's top on demand (see
 * branch-workers.ts): told a branch, it explores it and posts the outcome.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { exploreBranch } from '../check/branch.js';
import type { BranchJob, BranchReply, BranchTask } from './branch-workers.js';
import { factoryFor } from './check-factory.js';
import { mark } from './timeline.js';
import { errorData } from './worker-error.js';

const { job, shared } = workerData as { job: BranchJob; shared: SharedArrayBuffer };
const flags = new Int32Array(shared);
const factory = factoryFor(job.ref, job.sets, job.mutant);
const { strategy, ...options } = job.options;
const dfs = { ...strategy, seed: strategy.seed ?? options.seed };
// SIGINT, or another branch found a violation.
const stopped = () => Atomics.load(flags, 0) !== 0 || Atomics.load(flags, 1) !== 0;
const remaining = () => (job.deadline === null ? undefined : job.deadline - Date.now());

mark('ready');

parentPort!.on('message', (task: BranchTask) => {
  let reply: BranchReply;
  try {
    const startedAt = Date.now();
    mark('unit-start', { depth: task.branch.prefix.length, guess: task.cancel !== undefined });
    // A guess is also stopped when called off.
    const cancel = task.cancel;
    const interrupted = cancel === undefined ? stopped : () => stopped() || Atomics.load(flags, cancel) !== 0;
    const outcome = exploreBranch(factory, dfs, task.branch, task.depth, { ...options, interrupted, timeLimitMs: remaining() });
    mark('unit-end', { executions: outcome.executions });
    reply = { kind: 'branch', startedAt, outcome };
  } catch (e) {
    reply = { kind: 'error', ...errorData(e) };
  }
  parentPort!.postMessage(reply);
});
