import type { Sink } from '../kvm/events.js';
import type { Settings } from '../kvm/settings.js';
import type { KvmInstance } from '../scenario/instantiate.js';
import type { RunResult } from '../simulate/result.js';
import type { CounterexampleView } from './cex.js';
import { fmtNs } from './duration.js';
import { FtraceSink } from './ftrace.js';
import type { CexReportOptions, HeldView } from './html-cex.js';
import type { RunReportExtras } from './html-run.js';
import { livelockText } from './metric-rows.js';
import { PerfettoSink } from './perfetto.js';
import { type RunSeries, SeriesSink } from './series.js';
import { writeCexReport, writeFtrace, writeHeldReport, writePerfettoTrace, writeRunReport } from './write.js';

/** Which outputs a run should record for. */
export interface RecorderOptions {
  /** Record for --trace (Perfetto). */
  trace?: boolean;
  /** Record for --ftrace. */
  ftrace?: boolean;
  /** Record series for --report (the HTML page's charts and timeline). */
  series?: boolean;
  /** Names the trace's process and heads the ftrace log (scenario, seed). */
  title?: string;
}

/** Where each output goes; absent ones are not written. */
export interface RecorderFiles {
  trace?: string;
  ftrace?: string;
  report?: string;
}

/** Told of an output that could not be written: which, its file, and the error. */
export type OutputError = (output: keyof RecorderFiles, file: string, e: unknown) => void;

/**
 * Runs the write of each output asked for in `files` (an empty name, too, is
 * none): without `onError` an error is thrown; with it, handed to it, and
 * the outputs after it are still written.
 */
function eachOutput(files: RecorderFiles, onError: OutputError | undefined): (output: keyof RecorderFiles, write: (file: string) => void) => void {
  return (output, write) => {
    const file = files[output];
    if (file === undefined || file === '') return;
    if (onError === undefined) return write(file);
    try {
      write(file);
    } catch (e) {
      onError(output, file, e);
    }
  };
}

/**
 * The sinks of one run's reports, created together: pass `sinks` and
 * `attach` to simulate (`sinks`, `onInstance`), or attach to an instance the
 * checker builds for a replay, then `write` the files.
 */
export class ReportRecorder {
  readonly perfetto: PerfettoSink | null;
  readonly ftrace: FtraceSink | null;
  readonly series: SeriesSink | null;

  /** The settings of the instance attached last: the counterexample page lists them all. */
  private ranWith: Settings | undefined;

  constructor(private readonly opts: RecorderOptions) {
    this.perfetto = opts.trace ? new PerfettoSink(opts.title) : null;
    this.ftrace = opts.ftrace ? new FtraceSink() : null;
    this.series = opts.series ? new SeriesSink() : null;
  }

  /** The sinks to subscribe. */
  get sinks(): Sink[] {
    const out: Sink[] = [];
    if (this.perfetto) out.push(this.perfetto);
    if (this.ftrace) out.push(this.ftrace);
    if (this.series) out.push(this.series);
    return out;
  }

  /** Binds the sinks to the instance (thread names, lock intervals); call before the first step. */
  attach(inst: KvmInstance): void {
    this.ranWith = inst.kvm.settings;
    this.perfetto?.attach(inst);
    this.ftrace?.attach(inst);
    this.series?.attach(inst);
  }

  /** The recorded series (null when not recording them). */
  finishSeries(endNs?: number): RunSeries | null {
    return this.series?.finish(endNs) ?? null;
  }

  /**
   * Writes the outputs asked for, for a simulated run. With `onError`, an
   * output that cannot be written is handed to it and the others are still
   * written; without, the error is thrown.
   */
  write(files: RecorderFiles, result: RunResult, extras: Omit<RunReportExtras, 'series'> = {}, onError?: OutputError): void {
    const each = eachOutput(files, onError);
    const otherData = {
      scenario: result.scenario,
      seed: result.seed,
      mutant: result.mutant,
      settings: result.settings,
      ...(result.size ? { size: result.size } : {}),
    };
    const perfetto = this.perfetto;
    const ftrace = this.ftrace;
    // How the run ended, for a reader of the trace (otherData) or the log (header lines) alone.
    const ended: Record<string, unknown> = {
      ...(result.partial ? { partial: 'the run stopped early (interrupt, --max-steps, --time-limit)' } : {}),
      // Its times as the run's table shows them (20.1ms); the JSON keeps the ns.
      ...(result.progress.livelock ? { livelock: livelockText(result, fmtNs) } : {}),
      ...(result.modelBug ? { modelBug: result.modelBug } : {}),
    };
    const outcome = Object.entries(ended).map(([k, v]) => `${k}: ${v}`);
    if (perfetto) each('trace', (f) => writePerfettoTrace(f, perfetto, { endNs: result.simTimeNs, otherData: { ...otherData, ...ended } }));
    if (ftrace) each('ftrace', (f) => writeFtrace(f, ftrace, { title: this.opts.title ?? `${result.scenario} seed ${result.seed}`, outcome }));
    each('report', (f) => writeRunReport(f, result, { ...extras, series: this.finishSeries(result.simTimeNs) ?? undefined }));
  }

  /**
   * Writes the trace, the log and the page of a replay that met no violation
   * (replay --without-mutant: the fix held on the interleaving), `held.outcome`
   * saying how it ended; the page is the counterexample page's, its banner
   * that outcome (renderHeldReport). `onError` as for `write`.
   */
  writeHeld(files: RecorderFiles, held: HeldView & { strategy: string }, opts: CexReportOptions = {}, onError?: OutputError): void {
    const each = eachOutput(files, onError);
    const perfetto = this.perfetto;
    const ftrace = this.ftrace;
    const { outcome } = held;
    const run = { scenario: held.scenario, mutant: null, strategy: held.strategy };
    if (perfetto) each('trace', (f) => writePerfettoTrace(f, perfetto, { otherData: { ...run, violation: null, outcome } }));
    if (ftrace) each('ftrace', (f) => writeFtrace(f, ftrace, { title: this.opts.title ?? `${run.scenario} replay (no violation)`, outcome: [outcome] }));
    each('report', (f) => writeHeldReport(f, held, { settings: this.ranWith, ...opts }));
  }

  /**
   * Writes the outputs asked for, for a counterexample whose schedule was just
   * replayed with these sinks attached (check, replay): the trace and log of the
   * replay, and the counterexample page. The replay ran on the checker's
   * per-thread clocks, so the trace and the log are in steps of the interleaving,
   * numbered as printed (StepClock), like the page. `onError` as for `write`.
   */
  writeCounterexample(files: RecorderFiles, cex: CounterexampleView, opts: CexReportOptions = {}, onError?: OutputError): void {
    const each = eachOutput(files, onError);
    const otherData = { scenario: cex.scenario, seed: cex.seed, mutant: cex.mutant, property: cex.property, strategy: cex.strategy };
    const perfetto = this.perfetto;
    const ftrace = this.ftrace;
    if (perfetto) each('trace', (f) => writePerfettoTrace(f, perfetto, { otherData }));
    if (ftrace)
      each('ftrace', (f) => writeFtrace(f, ftrace, { title: this.opts.title ?? `${cex.scenario} counterexample (${cex.property})`, steps: cex.steps.length }));
    each('report', (f) => writeCexReport(f, cex, { settings: this.ranWith, ...opts }));
  }
}
