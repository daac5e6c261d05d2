/**
 * The report layer's public surface, for the CLI.
 *
 * run (--trace, --ftrace, --report):
 *   const rec = new ReportRecorder({ trace: !!o.trace, ftrace: !!o.ftrace, series: !!o.report, title: `${scenario.name} seed ${seed}` });
 *   const r = simulate(scenario, { ...opts, sinks: rec.sinks, onInstance: (i) => rec.attach(i) });
 *   rec.write({ trace: o.trace, ftrace: o.ftrace, report: o.report }, r, { description: scenario.description, command });
 *
 * compare --report: per simulate call, a SeriesSink (sinks: [s], onInstance: (i) => s.attach(i)),
 *   then writeCompareReport(file, rows.map((row) => ({ label, results, series: row's s.finish(r.simTimeNs) })), { description, command }).
 *
 * check / replay (--trace, --ftrace, --report): replay the counterexample's schedule once more with
 *   the sinks attached to the instance the factory builds (createInstance(..., { sinks: rec.sinks }), then rec.attach(inst)),
 *   e.g. runOnce(factory, new ReplayStrategy(cex.schedule), cex.limits, true); then
 *   rec.writeCounterexample({ trace: o.trace, ftrace: o.ftrace, report: o.report }, cex, { replayCommand }).
 *   The checker's per-thread clocks do not order threads: the trace and the log of such a replay
 *   are timed by the interleaving's events, numbered as printed (event n at n µs), like the page
 *   (StepClock turns itself on when the instance's time is per thread); a run keeps virtual time.
 */

export { writeFileAtomic } from './atomic-file.js';
export { type InstanceSink, recordLockIntervals } from './attach.js';
export { DEFAULT_MAX_EVENTS } from './budget.js';
export { asCounterexample, type CounterexampleView } from './cex.js';
export { FtraceSink } from './ftrace.js';
export { type CexReportOptions, type HeldView, renderCexReport, renderHeldReport } from './html-cex.js';
export { type CompareReportOptions, type CompareReportRow, renderCompareReport } from './html-compare.js';
export { type RunReportExtras, renderRunReport } from './html-run.js';
export { PerfettoSink } from './perfetto.js';
export { type RecorderFiles, type RecorderOptions, ReportRecorder } from './recorder.js';
export { type RunSeries, SeriesSink } from './series.js';
export { writeCexReport, writeCompareReport, writeFtrace, writePerfettoTrace, writeRunReport } from './write.js';
