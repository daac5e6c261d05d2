/**
 * Compare rows for the report tests, with one variant that livelocks.
 *
 * When the built-in memslot-zap-livelock scenario exists (threads 000/002:
 * the lock-break zap-all never finishing), the rows are that comparison, as
 * `mmulab compare memslot-zap-livelock --vary
 * memslotFlush=zap-all-lockbreak,zap-all-fast` runs it. Until then, the
 * livelocked variant is a real apic-page-reload run whose result is edited to
 * the shape a lock-break zap livelock gives (progress.livelock, a zap-all
 * started and never completed), so that the page's livelock rendering is
 * exercised either way.
 */
import { SeriesSink } from '../../src/report/series.js';
import type { CompareReportRow } from '../../src/report/html-compare.js';
import { builtinNames } from '../../src/scenario/load.js';
import type { RunResult } from '../../src/simulate/result.js';
import { runWith, shortScenario } from './fixtures.js';

/** Whether the rows come from the real livelock scenario. */
export const REAL_LIVELOCK = builtinNames().includes('memslot-zap-livelock');

function variant(name: string, timeNs: number, label: string, settings: Record<string, unknown>, seeds: number[], livelockNs?: number): CompareReportRow {
  const results: RunResult[] = [];
  const series = [];
  for (const seed of seeds) {
    const s = shortScenario(name, timeNs, livelockNs);
    const sink = new SeriesSink();
    const r = runWith(s, [sink], { seed, settings });
    results.push(r);
    series.push(sink.finish(r.simTimeNs));
  }
  return { label, results, series };
}

/** Two or three variants, exactly one of which livelocks in every seed. */
export function livelockCompareRows(): CompareReportRow[] {
  if (REAL_LIVELOCK) {
    return [
      variant('memslot-zap-livelock', 200_000_000, 'memslotFlush=zap-all-lockbreak', { memslotFlush: 'zap-all-lockbreak' }, [1, 2]),
      variant('memslot-zap-livelock', 200_000_000, 'memslotFlush=zap-all-fast', { memslotFlush: 'zap-all-fast' }, [1, 2]),
    ];
  }
  const ok = variant('apic-page-reload', 600_000, 'apicAccessPage=retry', { apicAccessPage: 'retry' }, [1, 2]);
  const other = variant('apic-page-reload', 600_000, 'apicAccessPage=invalidate-range', { apicAccessPage: 'invalidate-range' }, [1, 2]);
  const stuck = variant('apic-page-reload', 400_000, 'memslotFlush=zap-all-lockbreak (edited result)', {}, [1, 2]);
  stuck.results = stuck.results.map((r) => ({
    ...r,
    metrics: { ...r.metrics, zapAll: { started: 1, completed: 0, maxDurationNs: 0 } },
    progress: { livelock: true, stalled: `kvm_mmu_zap_all: no completion for ${r.simTimeNs} ns` },
  }));
  return [stuck, ok, other];
}
