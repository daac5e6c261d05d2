/** The report layer's public surface, for the CLI. */
export { type InstanceSink, recordLockIntervals } from './attach.js';
export { writeFileAtomic } from './atomic-file.js';
export { asCounterexample, type CounterexampleView } from './cex.js';
export { FtraceSink } from './ftrace.js';
export { type CexReportOptions, renderCexReport } from './html-cex.js';
export { type CompareReportOptions, type CompareReportRow, renderCompareReport } from './html-compare.js';
export { type RunReportExtras, renderRunReport } from './html-run.js';
export { PerfettoSink } from './perfetto.js';
export { type RecorderFiles, type RecorderOptions, ReportRecorder } from './recorder.js';
export { type RunSeries, SeriesSink } from './series.js';
export { writeCexReport, writeCompareReport, writeFtrace, writePerfettoTrace, writeRunReport } from './write.js';
