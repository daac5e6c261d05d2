/**
 * Worker-thread entry of a sweep: receives the scenario once (workerData), then
 * one cell per message, runs simulate() and posts the RunResult back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorData } from '../cli/worker-error.js';
import type { Scenario } from '../scenario/schema.js';
import type { CellReply, CellRequest } from './pool.js';
import { runCell } from './run-cell.js';

const data = workerData as { scenario: Scenario; mutant: string | null; maxSteps?: number };
const port = parentPort;
if (port === null) throw new Error('sweep worker: not started as a worker thread');
port.on('message', (req: CellRequest) => {
  let reply: CellReply;
  try {
    reply = { index: req.index, result: runCell(data.scenario, req, data.mutant, data.maxSteps) };
  } catch (e) {
    reply = { index: req.index, error: errorData(e) };
  }
  port.postMessage(reply);
});
