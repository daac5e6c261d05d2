import { hasBitmap } from '../report/metric-rows.js';
import type { RunResult } from '../simulate/result.js';
import { blockRows, type Metric } from './compare-block.js';

/**
 * compare's dirty-logging rows (host.dirtyLog), for runs of which some log a
 * slot. A figure of one flavour only is '-' in the other flavours' columns,
 * not 0: the bitmap's harvests under a ring, KVM_CLEAR_DIRTY_LOG's clears
 * without manual protect, the ring's figures under a bitmap. The rows shared
 * by every flavour (leaves write-protected, write-protect faults, pages
 * copied) are 0 only in a run with no dirty log at all.
 */
export function dirtyLogRows(runs: readonly RunResult[], metric: Metric): string[][] {
  const d = (r: RunResult) => r.metrics.dirtyLog;
  const bitmap = (r: RunResult) => (hasBitmap(r) ? d(r) : undefined);
  const rows: string[][] = [metric('dirty log harvests', (r) => bitmap(r)?.harvests), metric('  pages harvested', (r) => bitmap(r)?.pagesHarvested)];
  // Manual protect's, only where some run clears.
  if (runs.some((r) => d(r)?.clears !== undefined)) rows.push(metric('  KVM_CLEAR_DIRTY_LOG clears', (r) => d(r)?.clears));
  // The dirty ring's, only where some run has rings.
  rows.push(
    ...blockRows(runs, metric, (r) => d(r)?.ring, [
      ['  dirty ring pushes', (g) => g.pushes],
      ['  KVM_EXIT_DIRTY_RING_FULL exits', (g) => g.fullExits],
      ['  pages collected from the rings', (g) => g.pagesCollected],
      ['  KVM_RESET_DIRTY_RINGS calls', (g) => g.resets],
      ['  ring entries reset', (g) => g.entriesReset],
    ]),
  );
  rows.push(
    metric('  leaves write-protected', (r) => d(r)?.leavesWriteProtected ?? 0),
    metric('  write-protect faults', (r) => d(r)?.wpFaults ?? 0),
    metric('  pages copied by the VMM', (r) => d(r)?.pagesCopied ?? 0),
    metric('  ended in fast_page_fault (pf_fast)', (r) => r.metrics.faults.fast ?? 0),
  );
  return rows;
}
