/**
 * Where a scenario's threads reach in guest memory: a vCPU whose accesses fall
 * where no memslot ever is would only make MMIO exits (a gfn a memslot created
 * later holds is allowed: MMIO until then, mmio-gen-mini), and an invalidation of
 * gfns no memslot ever holds changes nothing; both would run a scenario that
 * measures nothing of what it was written for, so they are refused instead.
 */
import { hostRangeOver, initialHvaPages } from './guest-ram.js';
import { type FieldIssue, gfnRange, memslotRegions } from './memslot-rules.js';

interface GfnRange {
  gfnStart: number;
  gfnCount: number;
}

interface VcpuWorkload extends GfnRange {
  warmPages: number;
  accesses: number;
  phases?: readonly (Partial<GfnRange> & { fromAccess?: number | undefined })[] | undefined;
}

interface InvalidationRange extends GfnRange {
  rangePages: number;
  kind: string;
  age?: boolean | undefined;
}

interface Slot {
  baseGfn: number;
  pages: number;
}

/** The first gfn of [start, end) that no slot of `sorted` (by baseGfn) holds, or -1. */
function firstUncovered(sorted: readonly Slot[], start: number, end: number): number {
  let at = start;
  for (const s of sorted) {
    if (at >= end) break;
    if (s.baseGfn > at) return at;
    at = Math.max(at, s.baseGfn + s.pages);
  }
  return at < end ? at : -1;
}

export function workloadIssues(s: {
  vm: { vcpus: number; memslots: readonly (Parameters<typeof memslotRegions>[0][number] & { hvaPage?: number | undefined })[] };
  workload: VcpuWorkload;
  vcpuWorkloads: readonly Partial<VcpuWorkload>[];
  host: { invalidations: readonly InvalidationRange[]; memslotChanges: Parameters<typeof memslotRegions>[1] };
}): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (s.vcpuWorkloads.length > s.vm.vcpus) {
    issues.push({
      path: ['vcpuWorkloads', s.vm.vcpus],
      message: `${s.vcpuWorkloads.length} entries for ${s.vm.vcpus} vCPU${s.vm.vcpus === 1 ? '' : 's'}: entry ${s.vm.vcpus} has no vCPU`,
    });
  }
  // Memslots created or moved later count: a vCPU may reach a gfn as MMIO first, as memory once a create maps it.
  const regions = memslotRegions(s.vm.memslots, s.host.memslotChanges);
  const sorted = [...regions].sort((a, b) => a.baseGfn - b.baseGfn);
  // vCPUs past the per-vCPU entries share the workload: the last entry's index + 1 covers them all.
  for (let i = 0; i < Math.min(s.vm.vcpus, s.vcpuWorkloads.length + 1); i++) {
    const own = s.vcpuWorkloads[i] ?? {};
    const w = { ...s.workload, ...own };
    if (w.warmPages > w.gfnCount) {
      // Past gfnCount the warm-up would touch pages again (spurious faults), for as long as it was asked to.
      const from = own.warmPages !== undefined ? ['vcpuWorkloads', i] : ['workload'];
      issues.push({
        path: [...from, 'warmPages'],
        message: `${w.warmPages} pages touched before the run, but vCPU${i}'s range holds ${w.gfnCount} (gfnCount): expected warmPages <= gfnCount`,
      });
    }
    phaseIssues(sorted, w, i, own.phases !== undefined ? ['vcpuWorkloads', i, 'phases'] : ['workload', 'phases'], issues);
    const gap = firstUncovered(sorted, w.gfnStart, w.gfnStart + w.gfnCount);
    if (gap < 0) continue;
    const where = own.gfnStart !== undefined || own.gfnCount !== undefined ? ['vcpuWorkloads', i] : ['workload'];
    const path = [...where, 'gfnCount'];
    // One vCPU named is enough when they share the workload.
    if (issues.some((x) => x.path.join('.') === path.join('.'))) continue;
    issues.push({
      path,
      message: `vCPU${i}'s gfns ${gfnRange(w.gfnStart, w.gfnStart + w.gfnCount)} reach gfn 0x${gap.toString(16)}, which no memslot ever holds: its accesses there would be MMIO exits, not memory`,
    });
  }
  // Memslots created or moved later count: an invalidation may be meant for
  // them. One invalidation is one host (hva) range: its gfns must lie in one
  // memslot as it is at some time, or in memslots whose host ranges follow on
  // as their gfns do (one VMA behind them); the kernel's notifier then handles
  // each memslot the range meets. A created memslot's host range is one of its
  // own, apart from the others' (GuestRam): not known here, it follows on from none.
  const hvaOf = initialHvaPages(s.vm.memslots);
  const ram = regions.map((r) => ({
    baseGfn: r.baseGfn,
    npages: r.pages,
    hvaPage: 'initial' in r.backing ? hvaOf[r.backing.initial]! : Number.NaN,
    id: 'initial' in r.backing ? s.vm.memslots[r.backing.initial]!.id : s.host.memslotChanges[r.backing.created]!.slot,
  }));
  s.host.invalidations.forEach((inv, k) => {
    const at = ['host', 'invalidations', k];
    if (inv.age === true && inv.kind !== 'reclaim') {
      issues.push({
        path: [...at, 'age'],
        message: `only a reclaim ages its pages first (folio_referenced); this is a ${inv.kind}: expected kind reclaim, or no age`,
      });
    }
    const end = inv.gfnStart + inv.gfnCount;
    if (hostRangeOver(ram, inv.gfnStart, end) !== undefined) {
      if (inv.rangePages > inv.gfnCount) {
        issues.push({
          path: [...at, 'rangePages'],
          message: `ranges of ${inv.rangePages} pages do not fit in gfns ${gfnRange(inv.gfnStart, end)} (gfnCount ${inv.gfnCount}): expected rangePages <= gfnCount`,
        });
      }
      return;
    }
    issues.push({ path: [...at, 'gfnStart'], message: notOneHostRange(ram, inv.gfnStart, end) });
  });
  return issues;
}

/**
 * vCPU i's phases (at `where`) over its base workload `w`: a phase's gfns must
 * lie in memslots at some time, as the base's must, and a phase by access count
 * must start before the vCPU's accesses end. Each issue once, however many
 * vCPUs share the phases.
 */
function phaseIssues(sorted: readonly Slot[], w: VcpuWorkload, i: number, where: (string | number)[], issues: FieldIssue[]): void {
  const once = (issue: FieldIssue) => {
    if (!issues.some((x) => x.path.join('.') === issue.path.join('.'))) issues.push(issue);
  };
  (w.phases ?? []).forEach((p, k) => {
    if (p.fromAccess !== undefined && w.accesses > 0 && p.fromAccess >= w.accesses) {
      once({
        path: [...where, k, 'fromAccess'],
        message: `${p.fromAccess}, but vCPU${i} halts after ${w.accesses} accesses (accesses): the phase would never start; expected fromAccess below ${w.accesses}`,
      });
    }
    if (p.gfnStart === undefined && p.gfnCount === undefined) return;
    const start = p.gfnStart ?? w.gfnStart;
    const end = start + (p.gfnCount ?? w.gfnCount);
    const gap = firstUncovered(sorted, start, end);
    if (gap < 0) return;
    once({
      path: [...where, k, p.gfnCount !== undefined ? 'gfnCount' : 'gfnStart'],
      message: `vCPU${i}'s gfns in phase ${k} ${gfnRange(start, end)} reach gfn 0x${gap.toString(16)}, which no memslot ever holds: its accesses there would be MMIO exits, not memory`,
    });
  });
}

/** A gfn range some memslot holds at some time, the memslot's id, and its first host page (NaN: a created one's, not known here). */
interface HostRange {
  baseGfn: number;
  npages: number;
  hvaPage: number;
  id: number;
}

/** Why gfns [start, end) are no one host range: where they leave every memslot, or the first two memslots whose host ranges do not follow on. */
function notOneHostRange(ram: readonly HostRange[], start: number, end: number): string {
  const gfns = gfnRange(start, end);
  const met = ram.filter((m) => m.baseGfn < end && start < m.baseGfn + m.npages).sort((a, b) => a.baseGfn - b.baseGfn);
  if (met.length === 0) return `gfns ${gfns} lie in no memslot: the host would invalidate nothing KVM maps`;
  const gap = firstUncovered(
    met.map((m) => ({ baseGfn: m.baseGfn, pages: m.npages })),
    start,
    end,
  );
  if (gap >= 0) {
    return met.length === 1
      ? `gfns ${gfns} reach past the memslot at ${gfnRange(met[0]!.baseGfn, met[0]!.baseGfn + met[0]!.npages)} into gfns no memslot holds: expected gfns within it`
      : `gfns ${gfns} reach gfn 0x${gap.toString(16)}, which no memslot holds: expected gfns within memslots`;
  }
  // Every gfn is in some memslot: two that meet in gfns have host ranges apart.
  const slot = (m: HostRange) =>
    `memslot ${m.id} ${gfnRange(m.baseGfn, m.baseGfn + m.npages)} (${Number.isNaN(m.hvaPage) ? 'created by host.memslotChanges, with a host range of its own' : `host pages [0x${m.hvaPage.toString(16)}, 0x${(m.hvaPage + m.npages).toString(16)})`})`;
  let [a, b] = [met[0]!, met[1] ?? met[0]!];
  for (const m of met) {
    const n = met.find((x) => x.baseGfn === m.baseGfn + m.npages && x.hvaPage !== m.hvaPage + m.npages);
    if (n !== undefined) {
      [a, b] = [m, n];
      break;
    }
  }
  return `gfns ${gfns} cross ${slot(a)} and ${slot(b)}, whose host ranges do not follow on: one invalidation is one host range; expected one entry per memslot, or memslots whose hvaPage ranges follow on as their gfns do`;
}
