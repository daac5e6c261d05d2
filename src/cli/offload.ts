import { Worker } from 'node:worker_threads';
import { type CheckOptions, type CheckResult, check, type Progress, SHARED_STATES_PREFIXES, splitPrefixes } from '../check/index.js';
import { SharedBound } from '../check/stop-bound.js';
import type { Settings } from '../kvm/settings.js';
import { ReportRecorder, SeriesSink, writeCompareReport } from '../report/index.js';
import { InputError } from '../scenario/input-error.js';
import type { Scenario } from '../scenario/schema.js';
import type { ScenarioSize } from '../scenario/size.js';
import type { RunResult } from '../simulate/result.js';
import { simulate } from '../simulate/simulate.js';
import { type AuditJobOptions, type AuditResult, runAudit } from './audit-job.js';
import { factoryFor } from './check-factory.js';
import { type CompareResult, partialNote, runCompare } from './compare.js';
import { recorderOnError } from './output-failure.js';
import { claimsOn, mark } from './timeline.js';
import type { Vary } from './variants.js';
import { errorFromData } from './worker-error.js';

/** Report files a job writes where it runs (the recorders live beside the model). */
export interface JobOutputs {
  /** Chrome Trace Event JSON (Perfetto). */
  trace?: string;
  /** trace-cmd report style text. */
  ftrace?: string;
  /** Self-contained HTML page. */
  report?: string;
  /** The command line, shown on the report. */
  command?: string;
}

/** A simulation the CLI runs; plain data, so it can cross to a worker thread. */
export type Job =
  | {
      kind: 'run';
      scenario: Scenario;
      settings: Settings;
      /** The size knobs `scenario` was resized by (--set vcpus=…), to record in the result. */
      size?: ScenarioSize;
      mutant: string | null;
      seed: number;
      maxSteps?: number;
      deadlineMs?: number;
      outputs?: JobOutputs;
    }
  | {
      kind: 'compare';
      scenario: Scenario;
      base: Partial<Settings>;
      vary: Vary;
      seeds: number[];
      mutant: string | null;
      /** The --set list as given, recorded in the result (`scenario` and `base` already apply it). */
      sets: string[];
      deadlineMs?: number;
      outputs?: JobOutputs;
    }
  | {
      kind: 'check';
      ref: string;
      sets: string[];
      mutant: string | null;
      options: Omit<CheckOptions, 'progress' | 'interrupted' | 'clock' | 'stopAfter' | 'claims' | 'onStop'>;
      /** A SharedBound's memory, when this is one of several parts running side by side. */
      bound?: SharedArrayBuffer;
      /** dfs: UnitClaims' memory, when those parts take the units of options.shard on demand. */
      claims?: SharedArrayBuffer;
      /** dfs with explored states: the table of every unit's states (SharedStateCache), shared by those parts. */
      states?: SharedArrayBuffer;
      /** With `states`: the units come fewest preemptions on their top first (DfsSplit.fewestPreemptionsFirst). */
      fewestPreemptionsFirst?: boolean;
    }
  | { kind: 'audit'; ref: string; sets: string[]; mutant: string | null; options: AuditJobOptions };

export type JobResult<J extends Job> = J extends { kind: 'run' }
  ? RunResult
  : J extends { kind: 'check' }
    ? CheckResult
    : J extends { kind: 'audit' }
      ? AuditResult
      : CompareResult;

/** Wall-clock time, ms since the epoch: deadlines cross threads. */
const now = () => Date.now();

/**
 * Runs a job on this thread. `stop` is polled by the simulator; the job also stops
 * (as partial) at its wall-clock deadline. A report file of run or compare
 * that the system refuses is told to `onOutputError` (one line, outputFailure)
 * and the result still returned; without it, the error is thrown.
 */
export function runJob(
  job: Job,
  stop: () => boolean,
  onProgress?: (p: Progress) => void,
  onOutputError?: (line: string) => void,
): RunResult | CompareResult | CheckResult | AuditResult {
  const failed = recorderOnError(onOutputError);
  if (job.kind === 'audit') return runAudit(factoryFor(job.ref, job.sets, job.mutant), job.options, stop);
  if (job.kind === 'check') {
    const progress = onProgress ? { update: onProgress, end: () => {} } : null;
    const bound = job.bound !== undefined ? new SharedBound(job.bound) : null;
    // The other parts need not go past this one's violation.
    const onStop = bound ? (u: number) => bound.lower(u) : undefined;
    let options: CheckOptions = { ...job.options, interrupted: stop, progress, stopAfter: bound ? () => bound.get() : undefined, onStop };
    if (job.claims !== undefined && options.strategy.kind === 'dfs' && options.shard != null) {
      // The split the shard alone would make (a finer one for a table of states
      // shared by every unit, which then costs nothing), its units taken on demand.
      const claims = claimsOn(job.claims);
      const prefixes = job.states !== undefined ? SHARED_STATES_PREFIXES : splitPrefixes(options.shard.count);
      const split = { shard: options.shard, prefixes, claims, states: job.states, fewestPreemptionsFirst: job.fewestPreemptionsFirst };
      options = { ...options, strategy: { ...options.strategy, split }, claims };
    }
    mark('job-start');
    const r = check(factoryFor(job.ref, job.sets, job.mutant), options);
    mark('job-end', { executions: r.summary.executions, wallMs: r.summary.wallMs });
    return r;
  }
  const deadline = job.deadlineMs;
  const interrupted = deadline === undefined ? stop : () => stop() || now() >= deadline;
  const wallClock = () => performance.now();
  const out = job.outputs ?? {};
  if (job.kind === 'run') {
    const wanted = out.trace !== undefined || out.ftrace !== undefined || out.report !== undefined;
    const rec = wanted
      ? new ReportRecorder({
          trace: out.trace !== undefined,
          ftrace: out.ftrace !== undefined,
          series: out.report !== undefined,
          title: `${job.scenario.name} seed ${job.seed}`,
        })
      : null;
    const r = simulate(job.scenario, {
      settings: job.settings,
      size: job.size,
      mutant: job.mutant,
      seed: job.seed,
      maxSteps: job.maxSteps,
      interrupted,
      wallClock,
      sinks: rec?.sinks,
      onInstance: rec ? (i) => rec.attach(i) : undefined,
    });
    rec?.write(out, r, { description: job.scenario.description, command: out.command }, failed);
    return r;
  }
  if (out.report === undefined) return runCompare(job.scenario, job.base, job.vary, job.seeds, { mutant: job.mutant, sets: job.sets, interrupted, wallClock });
  // With a report: one series recorder per simulated run, kept beside its result.
  const series: SeriesSink[] = [];
  const c = runCompare(job.scenario, job.base, job.vary, job.seeds, {
    mutant: job.mutant,
    sets: job.sets,
    interrupted,
    wallClock,
    sinksFor: () => {
      const s = new SeriesSink();
      series.push(s);
      return { sinks: [s], onInstance: (i) => s.attach(i) };
    },
  });
  let k = 0;
  const rows = c.rows.map((row) => ({
    label: row.label,
    results: row.results,
    series: row.results.map((r) => series[k++]!.finish(r.simTimeNs)),
  }));
  const opts = {
    scenario: c.scenario,
    description: job.scenario.description,
    command: out.command,
    sets: c.sets,
    ...(c.partial ? { partial: partialNote(c).replace(/^\(|\)$/g, '') } : {}),
  };
  try {
    writeCompareReport(out.report, rows, opts);
  } catch (e) {
    if (failed === undefined) throw e;
    failed('report', out.report, e);
  }
  return c;
}

/**
 * Starts `module` (a sibling of this file, named without extension) on a
 * worker thread: compiled JS directly, TypeScript sources through tsx.
 */
export function startWorker(module: string, workerData: unknown): Worker {
  const self = import.meta.url;
  if (self.endsWith('.js')) return new Worker(new URL(`./${module}.js`, self), { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL(`./${module}.ts`, self).href;
  const code = `const { tsImport } = await import(${JSON.stringify(api)}); await tsImport(${JSON.stringify(target)}, ${JSON.stringify(self)});`;
  return new Worker(code, { eval: true, workerData, type: 'module' } as ConstructorParameters<typeof Worker>[1]);
}

/**
 * Workers whose job is done, kept for the next (unref'd, so that they do not
 * keep the process alive): a worker's start costs about 0.3 s, and the levels
 * of an iterative bound run a job each.
 */
const idle: Worker[] = [];

/**
 * Ends the kept workers, so that the next job starts on a fresh thread, as a
 * new `mmulab` process does (the bench compares worker counts that way: a kept
 * worker has its code compiled and optimised already).
 */
export async function closeIdleWorkers(): Promise<void> {
  await Promise.all(idle.splice(0).map((w) => w.terminate()));
}

/** A worker running `data`'s job: an idle one told it, or a new one. */
function workerFor(data: { job: Job; flag: SharedArrayBuffer }): Worker {
  const kept = idle.pop();
  if (kept === undefined) {
    mark('spawn');
    return startWorker('sim-worker', data);
  }
  kept.ref();
  kept.postMessage(data);
  return kept;
}

/**
 * Runs a job on a worker thread while this thread keeps its event loop free for
 * signals: `interrupted` (the CLI's SIGINT flag) is polled every 50 ms and passed
 * on through shared memory. Falls back to running in-process if no worker starts.
 */
export function runOffloaded<J extends Job>(
  job: J,
  interrupted: () => boolean,
  onProgress?: (p: Progress) => void,
  onOutputError?: (line: string) => void,
): Promise<JobResult<J>> {
  const flag = new SharedArrayBuffer(4);
  const shared = new Int32Array(flag);
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = workerFor({ job, flag });
    } catch {
      resolve(runJob(job, interrupted, onProgress, onOutputError) as JobResult<J>);
      return;
    }
    let settled = false;
    // Outputs the job could not write, when nobody takes them as they come: the job then fails with them.
    const unwritten: string[] = [];
    const poll = setInterval(() => {
      if (interrupted()) Atomics.store(shared, 0, 1);
    }, 50);
    const done = (f: () => void, reuse: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (reuse) {
        worker.unref();
        idle.push(worker);
      } else void worker.terminate();
      f();
    };
    const onMessage = (
      m: { ok: true; result: JobResult<J> } | { ok: false; name: string; message: string } | { progress: Progress } | { outputError: string },
    ) => {
      if ('progress' in m) {
        onProgress?.(m.progress);
        return;
      }
      if ('outputError' in m) {
        if (onOutputError !== undefined) onOutputError(m.outputError);
        else unwritten.push(m.outputError);
        return;
      }
      done(() => {
        if (m.ok && unwritten.length > 0) reject(new InputError(unwritten.join('; ')));
        else if (m.ok) resolve(m.result);
        else reject(errorFromData(m));
      }, m.ok);
    };
    const onError = (e: Error) => done(() => reject(e), false);
    const onExit = (code: number) => done(() => reject(new Error(`simulation worker exited with code ${code} before reporting`)), false);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}
