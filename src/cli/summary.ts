import { actedWords } from '../report/mutant-acted.js';
import { printable } from '../report/printable.js';
import type { RunResult } from '../simulate/result.js';
import { fmtNs, renderTable } from './table.js';

/** The run's main figures as a two-column table that fits 80 columns. */
export function summarizeRun(r: RunResult): string {
  const m = r.metrics;
  const rows: [string, string][] = [
    ['simulated time', fmtNs(r.simTimeNs)],
    ['steps', String(r.steps)],
    ['guest accesses', String(m.guest.accesses)],
    // Every way a fault ended, as the report's and compare's rows say: the parts add up to the total.
    ['faults (fixed/spurious/emulated)', `${m.faults.total} (${m.faults.fixed} / ${m.faults.spurious} / ${m.faults.emulated})`],
    [
      '  retried (pre-lock/locked/slot/gpte)',
      `${m.faults.retries} (${m.faults.retriesBeforeLock} / ${m.faults.retriesUnderLock} / ${m.faults.retriesInvalidSlot} / ${m.faults.retriesGpteChanged})`,
    ],
    ['  #PF injected, in flight at the stop', `${m.faults.injectedPf}, ${m.faults.inFlight}`],
    ['MMIO fast-path emulations (no fault)', String(m.mmio.fastPath)],
    ['fault latency p50 / p99 / max', `${fmtNs(m.faults.latencyNs.p50)} / ${fmtNs(m.faults.latencyNs.p99)} / ${fmtNs(m.faults.latencyNs.max)}`],
    ['mmu_lock read/write acq (contended)', `${m.mmuLock.readAcquires} / ${m.mmuLock.writeAcquires} (${m.mmuLock.contended})`],
    ['mmu_lock wait p99/max, write hold', `${fmtNs(m.mmuLock.waitNs.p99)} / ${fmtNs(m.mmuLock.waitNs.max)}, ${fmtNs(m.mmuLock.writeHoldNs.max)}`],
    ['lock breaks, remote TLB flushes', `${m.mmuLock.lockBreaks}, ${m.tlb.remoteFlushes}`],
    ['invalidations started / completed', `${m.invalidations.started} / ${m.invalidations.completed}`],
    ['invalidation time p50 / max', `${fmtNs(m.invalidations.durationNs.p50)} / ${fmtNs(m.invalidations.durationNs.max)}`],
    ['APIC reloads/re-requests', `${m.apic.reloads} / ${m.apic.reRequests}`],
    ['APIC re-requesting/request to entry', `${fmtNs(m.apic.stalledNs)} / ${fmtNs(m.apic.requestToEntryNs)} (sums over vCPUs)`],
  ];
  const d = m.dirtyLog;
  if (d !== undefined) {
    rows.push(['dirty log: harvests, pages harvested', `${d.harvests}, ${d.pagesHarvested}`]);
    // Manual protect's, only where the run clears.
    if (d.clears !== undefined) rows.push(['  KVM_CLEAR_DIRTY_LOG clears, pages cleared', `${d.clears}, ${d.pagesCleared ?? 0}`]);
    // The dirty ring's, only where the run has rings.
    if (d.ring !== undefined) {
      rows.push(['  ring pushes, KVM_EXIT_DIRTY_RING_FULL exits', `${d.ring.pushes}, ${d.ring.fullExits}`]);
      rows.push(['  ring collections, pages collected', `${d.ring.collections}, ${d.ring.pagesCollected}`]);
      rows.push(['  KVM_RESET_DIRTY_RINGS calls, entries reset', `${d.ring.resets}, ${d.ring.entriesReset}`]);
      rows.push(['  pages copied by the VMM', `${d.ring.pagesCopied}`]);
    }
    rows.push(['  leaves write-protected, wp faults', `${d.leavesWriteProtected}, ${d.wpFaults}`]);
    if (m.faults.fast !== undefined) rows.push(['  faults ended in fast_page_fault', `${m.faults.fast}`]);
  }
  const a = m.aging;
  if (a !== undefined) rows.push(['reclaim aging: folio_referenced young / old', `${a.young} / ${a.old} of ${a.aged}`]);
  const t = a?.accessTrack;
  if (t !== undefined) rows.push(['access tracking: marked (failed) / restored', `${t.marked} (${t.markFailed}) / ${t.restored}`]);
  const shadow = r.settings.mmu === 'shadow';
  if (shadow || m.zapAll.started > 0) {
    if (shadow) rows.push(['shadow pages made/zapped/peak', `${m.shadowPages.created} / ${m.shadowPages.zapped} / ${m.shadowPages.peak}`]);
    // Only when the reclaim ran: the default limit (64 pages or more) is above what most runs make.
    if (shadow && m.shadowPages.recycled > 0) rows.push(['shadow pages recycled', String(m.shadowPages.recycled)]);
    rows.push(['roots loaded/freed/reloads', `${m.roots.allocated} / ${m.roots.freed} / ${m.roots.reloads}`]);
    rows.push(['roots zapped in use, reloads after', `${m.roots.zappedInUse}, ${m.roots.reloadsAfterZap}`]);
    // zapAll counts kvm_mmu_zap_memslot's slot-only flushes too (memslotFlush=zap-slot, zap-slot-rmap-only): the label says both.
    rows.push(['zap-all/memslot zaps started/done, longest', `${m.zapAll.started} / ${m.zapAll.completed}, ${fmtNs(m.zapAll.maxDurationNs)}`]);
  }
  // What stalled goes below the table, as a violation does: a line of its own does not widen every row.
  rows.push(['livelock', r.progress.livelock ? 'YES (below)' : 'no']);
  rows.push(['violations', String(r.violations.length)]);
  const size = Object.entries(r.size ?? {}).map(([k, v]) => `${k}=${v}`);
  const head = `${printable(r.scenario)}  seed ${r.seed}${size.length > 0 ? `  ${size.join(' ')}` : ''}${r.mutant ? `  mutant=${r.mutant}${r.mutantActed !== undefined ? ` (${actedWords(r.mutantActed)})` : ''}` : ''}`;
  const settings = Object.entries(r.settings).map(([k, v]) => `${k}=${v}`);
  const lines = [head, `  ${settings.slice(0, 3).join(' ')}`, `  ${settings.slice(3).join(' ')}`, renderTable(['metric', 'value'], rows)];
  if (r.progress.livelock) lines.push(`LIVELOCK: ${printable(r.progress.stalled ?? 'no progress')}`);
  for (const v of r.violations) lines.push(`VIOLATION ${v.kind} at ${fmtNs(v.timeNs)} (step ${v.step}, ${v.thread}): ${v.message}`);
  if (r.modelBug) lines.push(`MODEL BUG: ${r.modelBug}`);
  if (r.partial) lines.push('(partial: stopped early)');
  return lines.join('\n');
}
