/**
 * Runs one simulation job off the main thread, so that the main thread's event
 * loop stays free to receive SIGINT while the (synchronous) simulator runs. The
 * main thread raises a shared flag that the simulator polls.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runJob, type Job } from './offload.js';

const { job, flag } = workerData as { job: Job; flag: SharedArrayBuffer };
const stop = new Int32Array(flag);
try {
  const result = runJob(job, () => Atomics.load(stop, 0) !== 0, (progress) => parentPort!.postMessage({ progress }));
  parentPort!.postMessage({ ok: true, result });
} catch (e) {
  parentPort!.postMessage({ ok: false, name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) });
}
