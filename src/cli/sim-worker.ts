/**
 * Runs simulation jobs off the main thread, so that the main thread's event
 * loop stays free to receive SIGINT while the (synchronous) simulator runs. The
 * main thread raises a shared flag that the simulator polls. The first job
 * comes as workerData, the next ones (a worker is kept for the next job: see
 * runOffloaded) as messages.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { type Job, runJob } from './offload.js';
import { mark } from './timeline.js';
import { errorData } from './worker-error.js';

function run({ job, flag }: { job: Job; flag: SharedArrayBuffer }): void {
  const stop = new Int32Array(flag);
  try {
    const result = runJob(
      job,
      () => Atomics.load(stop, 0) !== 0,
      (progress) => parentPort!.postMessage({ progress }),
      (outputError) => parentPort!.postMessage({ outputError }),
    );
    parentPort!.postMessage({ ok: true, result });
  } catch (e) {
    parentPort!.postMessage({ ok: false, ...errorData(e) });
  }
}

mark('ready');
run(workerData as { job: Job; flag: SharedArrayBuffer });
parentPort!.on('message', run);
