import { Worker } from 'node:worker_threads';
import { type ErrorData, errorFromData } from '../cli/worker-error.js';
import type { Settings } from '../kvm/settings.js';
import { InputError } from '../scenario/input-error.js';
import type { Scenario } from '../scenario/schema.js';
import type { ScenarioSize } from '../scenario/size.js';
import type { RunResult } from '../simulate/result.js';
import { runCell } from './run-cell.js';

export interface CellRequest {
  index: number;
  settings: Settings;
  /** The row's size knobs, when it varies any. */
  size?: ScenarioSize;
  seed: number;
}
export type CellReply = { index: number; result: RunResult } | { index: number; error: ErrorData };

/** Bad input a cell's run found (an InputError's message), and which cell. */
export interface CellFailure {
  cell: number;
  message: string;
}

/**
 * Starts a worker on the worker module next to this one: worker.js from dist
 * (the CLI), or worker.ts through tsx's API when running from sources (tests).
 */
function startWorker(workerData: unknown): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./worker.js', self), { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL('./worker.ts', self).href;
  const code = `const { tsImport } = await import(${JSON.stringify(api)}); await tsImport(${JSON.stringify(target)}, ${JSON.stringify(self)});`;
  return new Worker(code, { eval: true, workerData, type: 'module' } as ConstructorParameters<typeof Worker>[1]);
}

export interface PoolOptions {
  /** Worker threads; 0 runs every cell in the calling thread. */
  workers: number;
  mutant: string | null;
  maxSteps?: number;
  /** Polled between cells: true stops handing out cells (the result is partial). */
  interrupted?: () => boolean;
  /** Called after each finished cell. */
  onResult?: (index: number, r: RunResult) => void;
}

/** What a pool ran: results by cell index, and the bad input a cell found, which stopped the handing out of cells. */
export interface CellsRun {
  results: Map<number, RunResult>;
  failed: CellFailure | null;
}

/**
 * Runs cells on a pool of worker threads, each taking the next cell when it is
 * free. Results come back keyed by cell index, so their order never depends on
 * which worker ran what. Cells not run (interrupted) are missing from the map;
 * after a cell found bad input, no other starts, and only the cells before it
 * are kept.
 */
export async function runCells(scenario: Scenario, cells: readonly CellRequest[], opts: PoolOptions): Promise<CellsRun> {
  const out = new Map<number, RunResult>();
  let failedCell: CellFailure | null = null;
  if (opts.workers <= 0) {
    for (const c of cells) {
      // Back to the event loop between cells, where a SIGINT is seen (a cell itself runs to its end).
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.interrupted?.()) break;
      let r: RunResult;
      try {
        r = runCell(scenario, c, opts.mutant, opts.maxSteps, opts.interrupted);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        failedCell = { cell: c.index, message: e.message };
        break;
      }
      out.set(c.index, r);
      opts.onResult?.(c.index, r);
    }
    return { results: out, failed: failedCell };
  }
  const n = Math.min(opts.workers, cells.length);
  let next = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let busy = 0;
      let failed = false;
      const feed = (w: Worker) => {
        if (failed) return;
        if (next >= cells.length || failedCell !== null || opts.interrupted?.()) {
          if (busy === 0) resolve();
          return;
        }
        const c = cells[next++]!;
        busy++;
        w.postMessage({ index: c.index, settings: c.settings, ...(c.size !== undefined ? { size: c.size } : {}), seed: c.seed } satisfies CellRequest);
      };
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      for (let i = 0; i < n; i++) {
        const w = startWorker({ scenario, mutant: opts.mutant, maxSteps: opts.maxSteps });
        workers.push(w);
        w.on('message', (m: CellReply) => {
          busy--;
          // Bad input and model bugs keep their class (exit codes); anything else names the cell.
          if ('error' in m) {
            if (m.error.name === 'InputError') {
              // The lowest cell that fails is the one reported, whichever worker finds it first.
              if (failedCell === null || m.index < failedCell.cell) failedCell = { cell: m.index, message: m.error.message };
              return feed(w);
            }
            return fail(m.error.name === 'ModelBug' ? errorFromData(m.error) : new Error(`sweep cell ${m.index}: ${m.error.message}`));
          }
          out.set(m.index, m.result);
          opts.onResult?.(m.index, m.result);
          feed(w);
        });
        w.on('error', fail);
        w.on('exit', (code) => {
          if (code !== 0) fail(new Error(`sweep worker exited with code ${code}`));
        });
        feed(w);
      }
      if (n === 0) resolve();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  // Cells are handed out in order: those below the failing one all ran; those past it, only if under way when it
  // failed. Kept: those below, as the in-thread run keeps them, whoever ran what when.
  const failed = failedCell as CellFailure | null;
  if (failed !== null) for (const k of [...out.keys()]) if (k > failed.cell) out.delete(k);
  return { results: out, failed };
}
