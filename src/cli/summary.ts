import { grouped } from '../check/grouped.js';
import { fmtNs } from '../report/duration.js';
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
} from '../report/measured.js';
import { livelockText, textLabel } from '../report/metric-rows.js';
import { actedWords } from '../report/mutant-acted.js';
import { printable } from '../report/printable.js';
import type { RunResult } from '../simulate/result.js';
import { renderTable } from './table.js';

/** A count in the table, thousands grouped as check's summary has them (the JSON keeps plain numbers). */
const g = grouped;

/** The run's main figures as a two-column table that fits 80 columns. */
export function summarizeRun(r: RunResult, stopped?: string): string {
  const m = r.metrics;
  // A duration the run did not measure (no invalidation completed): '-', not 0ns.
  const ns = (v: number, measured: Measured) => (ifMeasured(r, v, measured) === undefined ? '-' : fmtNs(v));
  const rows: [string, string][] = [
    ['simulated time', fmtNs(r.simTimeNs)],
    ['steps', g(r.steps)],
    ['guest accesses', g(m.guest.accesses)],
    // Three of the ways a fault ended: the retried (next row) and those in flight make up the rest of the total.
    ['faults (of which fixed/spurious/emulated)', `${g(m.faults.total)} (${g(m.faults.fixed)} / ${g(m.faults.spurious)} / ${g(m.faults.emulated)})`],
    [
      '  retried (pre-lock/locked/slot/gpte)',
      `${g(m.faults.retries)} (${g(m.faults.retriesBeforeLock)} / ${g(m.faults.retriesUnderLock)} / ${g(m.faults.retriesInvalidSlot)} / ${g(m.faults.retriesGpteChanged)})`,
    ],
    ['  #PF injected, in flight at the stop', `${g(m.faults.injectedPf)}, ${g(m.faults.inFlight)}`],
    ['MMIO fast-path emulations (no fault)', g(m.mmio.fastPath)],
    [
      'fault latency p50 / p99 / max',
      `${ns(m.faults.latencyNs.p50, faultsEnded)} / ${ns(m.faults.latencyNs.p99, faultsEnded)} / ${ns(m.faults.latencyNs.max, faultsEnded)}`,
    ],
    ['mmu_lock read/write acq (contended)', `${g(m.mmuLock.readAcquires)} / ${g(m.mmuLock.writeAcquires)} (${g(m.mmuLock.contended)})`],
    [
      'mmu_lock wait p99/max, write hold',
      `${ns(m.mmuLock.waitNs.p99, lockTaken)} / ${ns(m.mmuLock.waitNs.max, lockTaken)}, ${ns(m.mmuLock.writeHoldNs.max, lockWritten)}`,
    ],
    ['lock breaks, remote TLB flushes', `${g(m.mmuLock.lockBreaks)}, ${g(m.tlb.remoteFlushes)}`],
    // Who had mmu_lock in the breaks (threads 000, 002): the breaks another thread took it in, its acquisitions there, the longest break.
    ...(lockBroken(r)
      ? [
          [
            '  others took the lock in (acq), longest',
            `${g(m.mmuLock.breaksYielded ?? 0)} (${g(m.mmuLock.breakAcquires ?? 0)}), ${fmtNs(m.mmuLock.breakOffMaxNs ?? 0)}`,
          ] as [string, string],
        ]
      : []),
    ['invalidations started / completed', `${g(m.invalidations.started)} / ${g(m.invalidations.completed)}`],
    [
      'invalidation time p50 / max',
      `${ns(m.invalidations.durationNs.p50, invalidationsCompleted)} / ${ns(m.invalidations.durationNs.max, invalidationsCompleted)}`,
    ],
    ['APIC reloads/re-requests', `${g(m.apic.reloads)} / ${g(m.apic.reRequests)}`],
    // Sums over the vCPUs, in the words compare's text and the pages use (metric-rows.ts).
    [textLabel('apic.stalledNs'), ns(m.apic.stalledNs, apicReRequested)],
    [textLabel('apic.requestToEntryNs'), ns(m.apic.requestToEntryNs, apicRequested)],
    ['APIC stalls, longest', `${g(m.apic.stalls ?? 0)}, ${ns(m.apic.stallMaxNs ?? 0, apicReRequested)}`],
  ];
  const d = m.dirtyLog;
  if (d !== undefined) {
    rows.push(['dirty log: harvests, pages harvested', `${g(d.harvests)}, ${g(d.pagesHarvested)}`]);
    // Manual protect's, only where the run clears.
    if (d.clears !== undefined) rows.push(['  KVM_CLEAR_DIRTY_LOG clears, pages cleared', `${g(d.clears)}, ${g(d.pagesCleared ?? 0)}`]);
    // The dirty ring's, only where the run has rings.
    if (d.ring !== undefined) {
      rows.push(['  ring pushes, KVM_EXIT_DIRTY_RING_FULL exits', `${g(d.ring.pushes)}, ${g(d.ring.fullExits)}`]);
      rows.push(['  ring collections, pages collected', `${g(d.ring.collections)}, ${g(d.ring.pagesCollected)}`]);
      rows.push(['  KVM_RESET_DIRTY_RINGS calls, entries reset', `${g(d.ring.resets)}, ${g(d.ring.entriesReset)}`]);
    }
    rows.push(['  leaves write-protected, wp faults', `${g(d.leavesWriteProtected)}, ${g(d.wpFaults)}`]);
    rows.push(['  pages copied by the VMM', g(d.pagesCopied)]);
    if (m.faults.fast !== undefined) rows.push(['  faults ended in fast_page_fault', g(m.faults.fast)]);
  }
  const a = m.aging;
  if (a !== undefined) rows.push(['reclaim aging: folio_referenced young / old', `${g(a.young)} / ${g(a.old)} of ${g(a.aged)}`]);
  const t = a?.accessTrack;
  if (t !== undefined) rows.push(['access tracking: marked (failed) / restored', `${g(t.marked)} (${g(t.markFailed)}) / ${g(t.restored)}`]);
  const shadow = r.settings.mmu === 'shadow';
  if (shadow || m.zapAll.started > 0) {
    if (shadow) rows.push(['shadow pages made/zapped/peak', `${g(m.shadowPages.created)} / ${g(m.shadowPages.zapped)} / ${g(m.shadowPages.peak)}`]);
    // Only when the reclaim ran: the default limit (64 pages or more) is above what most runs make.
    if (shadow && m.shadowPages.recycled > 0) rows.push(['shadow pages recycled', g(m.shadowPages.recycled)]);
    rows.push(['roots loaded/freed/reloads', `${g(m.roots.allocated)} / ${g(m.roots.freed)} / ${g(m.roots.reloads)}`]);
    rows.push(['roots zapped in use, reloads after', `${g(m.roots.zappedInUse)}, ${g(m.roots.reloadsAfterZap)}`]);
    // zapAll counts kvm_mmu_zap_memslot's slot-only flushes too (memslotFlush=zap-slot, zap-slot-rmap-only): the label says both.
    rows.push([
      'zap-all/memslot zaps started/done, longest',
      `${g(m.zapAll.started)} / ${g(m.zapAll.completed)}, ${ns(m.zapAll.maxDurationNs, zapsCompleted)}`,
    ]);
    // The fast zap's generation (threads 000, 002): 0 toggles after a fast zap is the zap-fast-no-generation-bump mutant's.
    if (validGenShown(r)) rows.push(['mmu_valid_gen at the end, toggles', `${m.zapAll.validGen ?? 0}, ${g(m.zapAll.validGenToggles ?? 0)}`]);
  }
  // A memslot update that began and hung in its flush (the lock-break zap-all's livelock) is started, not done.
  if ((m.memslots.started ?? 0) > 0) rows.push(['memslot changes started/done', `${g(m.memslots.started)} / ${g(m.memslots.changes)}`]);
  // What stalled goes below the table, as a violation does: a line of its own does not widen every row.
  rows.push(['livelock', r.progress.livelock ? 'YES (below)' : 'no']);
  rows.push(['violations', String(r.violations.length)]);
  const size = Object.entries(r.size ?? {}).map(([k, v]) => `${k}=${v}`);
  const head = `${printable(r.scenario)}  seed ${r.seed}${size.length > 0 ? `  ${size.join(' ')}` : ''}${r.mutant ? `  mutant=${r.mutant}${r.mutantActed !== undefined ? ` (${actedWords(r.mutantActed)})` : ''}` : ''}`;
  const settings = Object.entries(r.settings).map(([k, v]) => `${k}=${v}`);
  const lines = [head, `  ${settings.slice(0, 3).join(' ')}`, `  ${settings.slice(3).join(' ')}`, renderTable(['metric', 'value'], rows)];
  if (r.progress.livelock) lines.push(`LIVELOCK: ${printable(livelockText(r, fmtNs))}`);
  for (const v of r.violations) lines.push(`VIOLATION ${v.kind} at ${fmtNs(v.timeNs)} (step ${v.step}, ${v.thread}): ${v.message}`);
  if (r.modelBug) lines.push(`MODEL BUG: ${r.modelBug}`);
  // `stopped`: why (interrupted, a --max-steps or --time-limit bound), as the caller knows it.
  if (r.partial) lines.push(`(partial: ${stopped ?? 'stopped early'})`);
  return lines.join('\n');
}
