/**
 * Compare rows for the report tests in which one variant livelocks for real:
 * the lock-break zap-all against the fast zap (threads 000/002), on a small
 * fixture shaped like the built-in memslot-zap-livelock
 * (test/report/fixtures/zap-all-livelock.yaml): 8 shadow-paged vCPUs, a
 * memslot delete at 200 µs, livelock declared after 1 ms without completion.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompareReportRow } from '../../src/report/html-compare.js';
import { SeriesSink } from '../../src/report/series.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { RunResult } from '../../src/simulate/result.js';
import { runWith } from './fixtures.js';

/** The scenario the rows come from: a small fixture, quick enough for every test run. */
export const LIVELOCK_SCENARIO = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'zap-all-livelock.yaml');

/** memslotFlush=zap-all-lockbreak (livelocks) and memslotFlush=zap-all-fast (completes), seeds 1 and 2. */
export function livelockCompareRows(seeds: number[] = [1, 2]): CompareReportRow[] {
  return (['zap-all-lockbreak', 'zap-all-fast'] as const).map((flush) => {
    const results: RunResult[] = [];
    const series = [];
    for (const seed of seeds) {
      const s = loadScenario(LIVELOCK_SCENARIO);
      const sink = new SeriesSink();
      const r = runWith(s, [sink], { seed, settings: { memslotFlush: flush } });
      results.push(r);
      series.push(sink.finish(r.simTimeNs));
    }
    return { label: `memslotFlush=${flush}`, results, series };
  });
}
