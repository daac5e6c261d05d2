import type { RunResult } from '../simulate/result.js';
import { fmtNs } from './duration.js';
import {
  apicRequested,
  apicReRequested,
  faultsEnded,
  ifMeasured,
  invalidationsCompleted,
  lockBroken,
  lockTaken,
  lockWritten,
  type Measured,
  validGenShown,
  zapsCompleted,
} from './measured.js';
import { stalledText } from './stalled-text.js';

/** One figure of a run as the report tables show it. */
export interface MetricRow {
  /** Stable key (the RunResult path), used as data-metric in the page. */
  key: string;
  /** Group heading it is listed under. */
  group: string;
  label: string;
  /** The label in the text tables (compare's, run's), where the page's would not fit: the same words, its group named. */
  text?: string;
  get: (r: RunResult) => number;
  /** 'ns': a duration; 'int': a count. */
  unit: 'ns' | 'int';
  /** True when the value means trouble for this run (drawn red). */
  bad?: (r: RunResult) => boolean;
  /**
   * Whether a run has the figure at all (a feature's rows; a duration it measured, measured.ts):
   * '-' for a run without it, and a compare's mean is of the runs with it.
   */
  has?: (r: RunResult) => boolean;
}

/** The label a text table gives the row `key`: its `text`, else its group and label. */
export function textLabel(key: string): string {
  const row = METRIC_ROWS.find((r) => r.key === key);
  if (row === undefined) throw new Error(`no metric row '${key}'`);
  return row.text ?? `${row.group} ${row.label}`;
}

/** A duration's row: `has` it where the run measured it (measured.ts). */
const timed = (row: MetricRow, measured: Measured): MetricRow => ({
  ...row,
  has: (r: RunResult) => ifMeasured(r, row.get(r), measured) !== undefined,
});

const m = (r: RunResult) => r.metrics;

/**
 * A zap-all (or kvm_mmu_zap_memslot) the run started and never finished: a
 * lock-break zap that livelocked, say. Every output marks it where it shows
 * zaps completed (the pages' red cells, the compare card, the text table).
 */
export function zapNeverFinished(r: RunResult): boolean {
  return r.metrics.zapAll.completed < r.metrics.zapAll.started;
}

/**
 * A livelock as the outputs say it: what stalled (stalledText, its times in
 * `fmt`), and the zap the run started and never finished when there is one,
 * which a fault retrying on an invalid memslot (RET_PF_RETRY until the
 * memslot update the zap flushes for is done) waits on without naming it.
 */
export function livelockText(r: RunResult, fmt: (ns: number) => string): string {
  const z = r.metrics.zapAll;
  const zap = zapNeverFinished(r) ? `; a zap-all/memslot zap never finished (completed ${z.completed} of ${z.started} started)` : '';
  return `${stalledText(r.progress.stalled ?? 'no progress', fmt)}${zap}`;
}

/** The summary table's rows, in order. */
export const METRIC_ROWS: readonly MetricRow[] = [
  // A run stopped at a violation or a livelock counts over less time: its counts are of that time.
  { key: 'simTimeNs', group: 'Run', label: 'simulated time', get: (r) => r.simTimeNs, unit: 'ns' },
  // Every way a fault ended: fixed + spurious + emulated + retries + #PF injected + in flight = faults.
  { key: 'faults.total', group: 'Page faults', label: 'faults (pf_taken)', get: (r) => m(r).faults.total, unit: 'int' },
  { key: 'faults.fixed', group: 'Page faults', label: 'fixed (pf_fixed)', get: (r) => m(r).faults.fixed, unit: 'int' },
  { key: 'faults.spurious', group: 'Page faults', label: 'spurious (pf_spurious)', get: (r) => m(r).faults.spurious, unit: 'int' },
  {
    key: 'faults.emulated',
    group: 'Page faults',
    label: 'emulated (RET_PF_EMULATE, pf_emulate: writes to write-protected guest tables, MMIO)',
    get: (r) => m(r).faults.emulated,
    unit: 'int',
  },
  { key: 'faults.retries', group: 'Page faults', label: 'retries (all four kinds)', get: (r) => m(r).faults.retries, unit: 'int' },
  {
    key: 'faults.retriesBeforeLock',
    group: 'Page faults',
    label: 'retried before mmu_lock (pre-check)',
    get: (r) => m(r).faults.retriesBeforeLock,
    unit: 'int',
  },
  { key: 'faults.retriesUnderLock', group: 'Page faults', label: 'retried under mmu_lock (stale)', get: (r) => m(r).faults.retriesUnderLock, unit: 'int' },
  { key: 'faults.retriesInvalidSlot', group: 'Page faults', label: 'retried on an invalid memslot', get: (r) => m(r).faults.retriesInvalidSlot, unit: 'int' },
  {
    key: 'faults.retriesGpteChanged',
    group: 'Page faults',
    label: 'retried on a guest PTE changed (shadow paging)',
    get: (r) => m(r).faults.retriesGpteChanged,
    unit: 'int',
  },
  { key: 'faults.injectedPf', group: 'Page faults', label: "#PF injected (the guest's own fault)", get: (r) => m(r).faults.injectedPf, unit: 'int' },
  { key: 'faults.inFlight', group: 'Page faults', label: 'in flight at the stop', get: (r) => m(r).faults.inFlight, unit: 'int' },
  {
    key: 'mmio.fastPath',
    group: 'Page faults',
    label: 'MMIO fast-path emulations (handle_mmio_page_fault; no fault taken)',
    get: (r) => m(r).mmio.fastPath,
    unit: 'int',
  },
  timed({ key: 'faults.latencyNs.p50', group: 'Page faults', label: 'latency p50', get: (r) => m(r).faults.latencyNs.p50, unit: 'ns' }, faultsEnded),
  timed({ key: 'faults.latencyNs.p90', group: 'Page faults', label: 'latency p90', get: (r) => m(r).faults.latencyNs.p90, unit: 'ns' }, faultsEnded),
  timed({ key: 'faults.latencyNs.p99', group: 'Page faults', label: 'latency p99', get: (r) => m(r).faults.latencyNs.p99, unit: 'ns' }, faultsEnded),
  timed({ key: 'faults.latencyNs.max', group: 'Page faults', label: 'latency max', get: (r) => m(r).faults.latencyNs.max, unit: 'ns' }, faultsEnded),
  { key: 'mmuLock.readAcquires', group: 'mmu_lock', label: 'read acquisitions', get: (r) => m(r).mmuLock.readAcquires, unit: 'int' },
  { key: 'mmuLock.writeAcquires', group: 'mmu_lock', label: 'write acquisitions', get: (r) => m(r).mmuLock.writeAcquires, unit: 'int' },
  { key: 'mmuLock.contended', group: 'mmu_lock', label: 'contended acquisitions (had to queue)', get: (r) => m(r).mmuLock.contended, unit: 'int' },
  timed({ key: 'mmuLock.waitNs.p50', group: 'mmu_lock', label: 'wait p50', get: (r) => m(r).mmuLock.waitNs.p50, unit: 'ns' }, lockTaken),
  timed({ key: 'mmuLock.waitNs.p99', group: 'mmu_lock', label: 'wait p99', get: (r) => m(r).mmuLock.waitNs.p99, unit: 'ns' }, lockTaken),
  timed({ key: 'mmuLock.waitNs.max', group: 'mmu_lock', label: 'wait max', get: (r) => m(r).mmuLock.waitNs.max, unit: 'ns' }, lockTaken),
  timed({ key: 'mmuLock.writeHoldNs.max', group: 'mmu_lock', label: 'longest write hold', get: (r) => m(r).mmuLock.writeHoldNs.max, unit: 'ns' }, lockWritten),
  { key: 'mmuLock.lockBreaks', group: 'mmu_lock', label: 'lock breaks (drop and re-take)', get: (r) => m(r).mmuLock.lockBreaks, unit: 'int' },
  { key: 'tlb.remoteFlushes', group: 'TLB', label: 'remote TLB flushes (kvm_flush_remote_tlbs)', get: (r) => m(r).tlb.remoteFlushes, unit: 'int' },
  { key: 'tlb.vcpuFlushes', group: 'TLB', label: 'vCPU TLB flushes', get: (r) => m(r).tlb.vcpuFlushes, unit: 'int' },
  { key: 'sptes.installed', group: 'SPTEs', label: 'installed (faults)', get: (r) => m(r).sptes.installed, unit: 'int' },
  { key: 'sptes.zapped', group: 'SPTEs', label: 'zapped (notifiers, memslot flushes, zap-all, root zaps)', get: (r) => m(r).sptes.zapped, unit: 'int' },
  { key: 'invalidations.started', group: 'mmu_notifier invalidations', label: 'started', get: (r) => m(r).invalidations.started, unit: 'int' },
  { key: 'invalidations.completed', group: 'mmu_notifier invalidations', label: 'completed', get: (r) => m(r).invalidations.completed, unit: 'int' },
  {
    key: 'invalidations.sptesZapped',
    group: 'mmu_notifier invalidations',
    label: 'SPTEs zapped (by the notifiers)',
    get: (r) => m(r).invalidations.sptesZapped,
    unit: 'int',
  },
  timed(
    {
      key: 'invalidations.durationNs.p50',
      group: 'mmu_notifier invalidations',
      label: 'duration p50',
      get: (r) => m(r).invalidations.durationNs.p50,
      unit: 'ns',
    },
    invalidationsCompleted,
  ),
  timed(
    {
      key: 'invalidations.durationNs.max',
      group: 'mmu_notifier invalidations',
      label: 'duration max',
      get: (r) => m(r).invalidations.durationNs.max,
      unit: 'ns',
    },
    invalidationsCompleted,
  ),
  { key: 'apic.reloads', group: 'APIC-access page', label: 'reloads', get: (r) => m(r).apic.reloads, unit: 'int' },
  { key: 'apic.reRequests', group: 'APIC-access page', label: 're-requests (invalidation in progress)', get: (r) => m(r).apic.reRequests, unit: 'int' },
  // Each vCPU's time from its first re-request to its reload, added up over the vCPUs: the retry flow's loop only.
  timed(
    {
      key: 'apic.stalledNs',
      group: 'APIC-access page',
      label: 'time re-requesting (summed over vCPUs)',
      text: 'APIC time re-requesting (sum)',
      get: (r) => m(r).apic.stalledNs,
      unit: 'ns',
    },
    apicReRequested,
  ),
  // The stalls summed above, and the longest: what bounds one vCPU's wait (the merged range of overlapping invalidations prolongs it).
  {
    key: 'apic.stalls',
    group: 'APIC-access page',
    label: 'stalls (a vCPU re-requesting until the reload set the page)',
    get: (r) => m(r).apic.stalls ?? 0,
    unit: 'int',
  },
  timed({ key: 'apic.stallMaxNs', group: 'APIC-access page', label: 'longest stall', get: (r) => m(r).apic.stallMaxNs ?? 0, unit: 'ns' }, apicReRequested),
  // Each vCPU's time from a reload request to its next VM-entry, added up: what the reload costs the guest, either flow.
  timed(
    {
      key: 'apic.requestToEntryNs',
      group: 'APIC-access page',
      label: 'request to next VM-entry (summed over vCPUs)',
      text: 'APIC request to next VM-entry (sum)',
      get: (r) => m(r).apic.requestToEntryNs,
      unit: 'ns',
    },
    apicRequested,
  ),
  { key: 'guest.accesses', group: 'Guest', label: 'accesses', get: (r) => m(r).guest.accesses, unit: 'int' },
  { key: 'guest.entries', group: 'Guest', label: 'VM-entries', get: (r) => m(r).guest.entries, unit: 'int' },
  { key: 'guest.entriesCancelled', group: 'Guest', label: 'VM-entries cancelled (late request check)', get: (r) => m(r).guest.entriesCancelled, unit: 'int' },
  { key: 'shadowPages.created', group: 'Shadow pages and roots', label: 'shadow pages created', get: (r) => m(r).shadowPages.created, unit: 'int' },
  { key: 'shadowPages.zapped', group: 'Shadow pages and roots', label: 'shadow pages zapped', get: (r) => m(r).shadowPages.zapped, unit: 'int' },
  { key: 'shadowPages.peak', group: 'Shadow pages and roots', label: 'shadow pages peak', get: (r) => m(r).shadowPages.peak, unit: 'int' },
  {
    key: 'shadowPages.recycled',
    group: 'Shadow pages and roots',
    label: 'shadow pages recycled (kvm_mmu_zap_oldest_mmu_pages)',
    get: (r) => m(r).shadowPages.recycled ?? 0,
    unit: 'int',
  },
  { key: 'roots.allocated', group: 'Shadow pages and roots', label: 'roots loaded (found or made)', get: (r) => m(r).roots.allocated, unit: 'int' },
  { key: 'roots.freed', group: 'Shadow pages and roots', label: 'roots freed', get: (r) => m(r).roots.freed, unit: 'int' },
  { key: 'roots.reloads', group: 'Shadow pages and roots', label: 'root reloads', get: (r) => m(r).roots.reloads, unit: 'int' },
  { key: 'roots.reloadsAfterZap', group: 'Shadow pages and roots', label: 'reloads after a root zap', get: (r) => m(r).roots.reloadsAfterZap, unit: 'int' },
  {
    key: 'roots.zappedInUse',
    group: 'Shadow pages and roots',
    label: 'roots zapped in use (shadow: current or cached; TDP: invalidated while held)',
    get: (r) => m(r).roots.zappedInUse,
    unit: 'int',
  },
  { key: 'zapAll.started', group: 'Zap all', label: 'started', get: (r) => m(r).zapAll.started, unit: 'int' },
  {
    key: 'zapAll.completed',
    group: 'Zap all',
    label: 'completed',
    get: (r) => m(r).zapAll.completed,
    unit: 'int',
    bad: zapNeverFinished,
  },
  timed(
    {
      key: 'zapAll.maxDurationNs',
      group: 'Zap all',
      label: 'longest (of those completed)',
      get: (r) => m(r).zapAll.maxDurationNs,
      unit: 'ns',
      bad: zapNeverFinished,
    },
    zapsCompleted,
  ),
  // A change that began and never completed (its flush hung: the lock-break zap-all's livelock) is started only.
  { key: 'memslots.started', group: 'Memslots', label: 'memslot changes started', get: (r) => m(r).memslots.started ?? m(r).memslots.changes, unit: 'int' },
  {
    key: 'memslots.changes',
    group: 'Memslots',
    label: 'memslot changes completed',
    get: (r) => m(r).memslots.changes,
    unit: 'int',
    bad: (r) => m(r).memslots.changes < (m(r).memslots.started ?? 0),
  },
];

/**
 * Rows of the metrics a run has only where its scenario uses the feature
 * (dirty logging and its fast_page_fault fixes; the guest's INVLPG under
 * shadow paging; reclaim's aging): each shown when some run of the report has it, '-' in a
 * compare's column whose runs have not (as compare's text table shows them).
 */
const hasDirtyLog = (r: RunResult) => m(r).dirtyLog !== undefined;
/** The bitmap's own figures (KVM_GET_DIRTY_LOG's harvests, the marks of its bits): none under a ring. */
export const hasBitmap = (r: RunResult) => m(r).dirtyLog !== undefined && m(r).dirtyLog?.ring === undefined;
const dirtyLogRow = (key: string, label: string, get: (r: RunResult) => number) => ({
  key,
  group: 'Dirty logging',
  label,
  get,
  unit: 'int' as const,
  has: hasDirtyLog,
});

/** A dirty ring's row: shown when some run of the report has rings. */
const ringRow = (key: string, label: string, get: (r: RunResult) => number) => ({
  ...dirtyLogRow(key, label, get),
  has: (r: RunResult) => m(r).dirtyLog?.ring !== undefined,
});

const agingRow = (key: string, label: string, get: (r: RunResult) => number) => ({
  key,
  group: 'Reclaim aging',
  label,
  get,
  unit: 'int' as const,
  has: (r: RunResult) => m(r).aging !== undefined,
});

const OPTIONAL_ROWS: readonly (MetricRow & { has: (r: RunResult) => boolean })[] = [
  // Who had mmu_lock in the lock breaks (threads 000, 002), only where some run broke it.
  {
    key: 'mmuLock.breaksYielded',
    group: 'mmu_lock',
    label: 'lock breaks in which another thread took mmu_lock',
    get: (r) => m(r).mmuLock.breaksYielded ?? 0,
    unit: 'int',
    has: lockBroken,
  },
  {
    key: 'mmuLock.breakAcquires',
    group: 'mmu_lock',
    label: 'acquisitions by other threads in lock breaks',
    get: (r) => m(r).mmuLock.breakAcquires ?? 0,
    unit: 'int',
    has: lockBroken,
  },
  {
    key: 'mmuLock.breakOffMaxNs',
    group: 'mmu_lock',
    label: 'longest lock break (drop to re-take)',
    get: (r) => m(r).mmuLock.breakOffMaxNs ?? 0,
    unit: 'ns',
    has: lockBroken,
  },
  // The fast zap's generation (threads 000, 002), only where some run toggled it or began a fast zap.
  { key: 'zapAll.validGen', group: 'Zap all', label: 'mmu_valid_gen at the end', get: (r) => m(r).zapAll.validGen ?? 0, unit: 'int', has: validGenShown },
  {
    key: 'zapAll.validGenToggles',
    group: 'Zap all',
    label: 'mmu_valid_gen toggles (kvm_mmu_zap_all_fast)',
    get: (r) => m(r).zapAll.validGenToggles ?? 0,
    unit: 'int',
    has: validGenShown,
  },
  { ...dirtyLogRow('dirtyLog.harvests', 'KVM_GET_DIRTY_LOG harvests', (r) => m(r).dirtyLog?.harvests ?? 0), has: hasBitmap },
  { ...dirtyLogRow('dirtyLog.pagesHarvested', 'pages harvested (dirty bits taken)', (r) => m(r).dirtyLog?.pagesHarvested ?? 0), has: hasBitmap },
  dirtyLogRow('dirtyLog.leavesWriteProtected', 'leaves write-protected', (r) => m(r).dirtyLog?.leavesWriteProtected ?? 0),
  { ...dirtyLogRow('dirtyLog.pagesMarked', 'pages marked dirty (mark_page_dirty_in_slot)', (r) => m(r).dirtyLog?.pagesMarked ?? 0), has: hasBitmap },
  dirtyLogRow('dirtyLog.wpFaults', 'write-protect faults', (r) => m(r).dirtyLog?.wpFaults ?? 0),
  dirtyLogRow('dirtyLog.pagesCopied', 'pages copied by the VMM', (r) => m(r).dirtyLog?.pagesCopied ?? 0),
  // Manual protect's, only where some run of the report clears.
  {
    ...dirtyLogRow('dirtyLog.clears', 'KVM_CLEAR_DIRTY_LOG clears (manual protect)', (r) => m(r).dirtyLog?.clears ?? 0),
    has: (r: RunResult) => m(r).dirtyLog?.clears !== undefined,
  },
  {
    ...dirtyLogRow('dirtyLog.pagesCleared', 'pages cleared (dirty bits cleared)', (r) => m(r).dirtyLog?.pagesCleared ?? 0),
    has: (r: RunResult) => m(r).dirtyLog?.clears !== undefined,
  },
  // The dirty ring's, only where some run of the report has rings.
  ringRow('dirtyLog.ring.pushes', 'dirty ring pushes (kvm_dirty_ring_push)', (r) => m(r).dirtyLog?.ring?.pushes ?? 0),
  ringRow('dirtyLog.ring.fullExits', 'KVM_EXIT_DIRTY_RING_FULL exits', (r) => m(r).dirtyLog?.ring?.fullExits ?? 0),
  ringRow('dirtyLog.ring.collections', 'ring collections (a ring with entries)', (r) => m(r).dirtyLog?.ring?.collections ?? 0),
  ringRow('dirtyLog.ring.pagesCollected', 'pages collected from the rings', (r) => m(r).dirtyLog?.ring?.pagesCollected ?? 0),
  ringRow('dirtyLog.ring.resets', 'KVM_RESET_DIRTY_RINGS calls', (r) => m(r).dirtyLog?.ring?.resets ?? 0),
  ringRow('dirtyLog.ring.entriesReset', 'ring entries reset', (r) => m(r).dirtyLog?.ring?.entriesReset ?? 0),
  dirtyLogRow('faults.fast', 'ended in fast_page_fault, fixed or spurious (pf_fast)', (r) => m(r).faults.fast ?? 0),
  {
    key: 'tlb.invlpg',
    group: 'Guest INVLPG (shadow paging)',
    label: 'INVLPG exits (kvm_mmu_invlpg)',
    get: (r) => m(r).tlb.invlpg ?? 0,
    unit: 'int',
    has: (r) => m(r).tlb.invlpg !== undefined,
  },
  agingRow('aging.aged', 'folio_referenced calls (clear_flush_young)', (r) => m(r).aging?.aged ?? 0),
  agingRow('aging.young', 'young: page kept', (r) => m(r).aging?.young ?? 0),
  agingRow('aging.old', 'old: page reclaimed', (r) => m(r).aging?.old ?? 0),
  // Without EPT A/D bits, only where some run of the report has them.
  {
    ...agingRow('aging.accessTrack.marked', 'leaves marked for access tracking (mark_spte_for_access_track)', (r) => m(r).aging?.accessTrack?.marked ?? 0),
    has: (r: RunResult) => m(r).aging?.accessTrack !== undefined,
  },
  {
    ...agingRow('aging.accessTrack.markFailed', 'marks whose cmpxchg failed (left as they were)', (r) => m(r).aging?.accessTrack?.markFailed ?? 0),
    has: (r: RunResult) => m(r).aging?.accessTrack !== undefined,
  },
  {
    ...agingRow('aging.accessTrack.restored', 'restored by fast_page_fault (restore_acc_track_spte)', (r) => m(r).aging?.accessTrack?.restored ?? 0),
    has: (r: RunResult) => m(r).aging?.accessTrack !== undefined,
  },
];

/** The rows for a report of `runs`: METRIC_ROWS, and each optional row some run has. */
export function metricRowsFor(runs: readonly RunResult[]): readonly MetricRow[] {
  const optional = OPTIONAL_ROWS.filter((row) => runs.some(row.has));
  return optional.length === 0 ? METRIC_ROWS : [...METRIC_ROWS, ...optional];
}

/** How a run ended, for badges and banners. */
export interface RunStatus {
  /** 'ok', or the worst thing that happened. */
  kind: 'ok' | 'livelock' | 'violation' | 'model-bug' | 'partial';
  /** One line for a badge. */
  label: string;
  /** What happened, when not ok. */
  detail: string;
}

export function runStatus(r: RunResult): RunStatus {
  if (r.modelBug !== null) return { kind: 'model-bug', label: 'MODEL BUG', detail: r.modelBug };
  if (r.violations.length > 0) {
    const v = r.violations[0]!;
    // A simulated run is read in virtual time (its charts, its timeline); its step is the runtime's count, from 0.
    return {
      kind: 'violation',
      label: `VIOLATION: ${v.kind}`,
      detail: `${v.thread} at ${fmtNs(v.timeNs)} of virtual time (runtime step ${v.step}): ${v.message}`,
    };
  }
  if (r.progress.livelock) {
    return { kind: 'livelock', label: 'LIVELOCK', detail: livelockText(r, fmtNs) };
  }
  if (r.partial) return { kind: 'partial', label: 'PARTIAL', detail: 'the run was stopped early; figures cover what ran' };
  return { kind: 'ok', label: 'OK', detail: 'no violation, no livelock' };
}

/** Banner / badge class of a status. */
export function statusClass(kind: RunStatus['kind']): 'ok' | 'bad' | 'warn' {
  return kind === 'ok' ? 'ok' : kind === 'partial' ? 'warn' : 'bad';
}
