import type { RunResult } from '../simulate/result.js';
import { writeFileAtomic } from './atomic-file.js';
import type { CounterexampleView } from './cex.js';
import type { FtraceSink } from './ftrace.js';
import { type CexReportOptions, type HeldView, renderCexReport, renderHeldReport } from './html-cex.js';
import { type CompareReportOptions, type CompareReportRow, renderCompareReport } from './html-compare.js';
import { type RunReportExtras, renderRunReport } from './html-run.js';
import type { PerfettoSink } from './perfetto.js';

/**
 * The files the CLI writes for --report, --trace and --ftrace. Each is written
 * atomically: a temporary file in the same folder, then a rename.
 */

/** `mmulab run --report FILE.html`: one run as a self-contained page. */
export function writeRunReport(file: string, result: RunResult, extras: RunReportExtras = {}): void {
  writeFileAtomic(file, renderRunReport(result, extras));
}

/** `mmulab compare --report FILE.html`: the variants side by side. */
export function writeCompareReport(file: string, rows: CompareReportRow[], opts: CompareReportOptions = {}): void {
  writeFileAtomic(file, renderCompareReport(rows, opts));
}

/** `mmulab check|replay --report FILE.html`: a counterexample as swimlanes. */
export function writeCexReport(file: string, cex: CounterexampleView, opts: CexReportOptions = {}): void {
  writeFileAtomic(file, renderCexReport(cex, opts));
}

/** `mmulab replay --without-mutant --report FILE.html`: the interleaving the kernel's protocol ran, no violation. */
export function writeHeldReport(file: string, held: HeldView, opts: CexReportOptions = {}): void {
  writeFileAtomic(file, renderHeldReport(held, opts));
}

/** `--trace FILE`: Chrome Trace Event JSON for ui.perfetto.dev, streamed. */
export function writePerfettoTrace(file: string, sink: PerfettoSink, opts: { endNs?: number; otherData?: Record<string, unknown> } = {}): void {
  writeFileAtomic(file, sink.render(opts));
}

/** `--ftrace FILE`: the trace-cmd-report-shaped log, streamed (`steps`: a counterexample's printed steps, see FtraceSink.render). */
export function writeFtrace(file: string, sink: FtraceSink, opts: { title?: string; steps?: number; outcome?: readonly string[] } = {}): void {
  writeFileAtomic(file, sink.render(opts));
}
