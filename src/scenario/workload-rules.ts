/**
 * Where a scenario's threads reach in guest memory: a vCPU whose accesses fall
 * where no memslot ever is would only make MMIO exits (a gfn a memslot created
 * later holds is allowed: MMIO until then, mmio-gen-mini), and an invalidation of
 * gfns no memslot ever holds changes nothing; both would run a scenario that
 * measures nothing of what it was written for, so they are refused instead.
 */
import { type FieldIssue, gfnRange, memslotRegions } from './memslot-rules.js';

interface GfnRange {
  gfnStart: number;
  gfnCount: number;
}

interface VcpuWorkload extends GfnRange {
  warmPages: number;
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
  vm: { vcpus: number; memslots: Parameters<typeof memslotRegions>[0] };
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
    const gap = firstUncovered(sorted, w.gfnStart, w.gfnStart + w.gfnCount);
    if (gap < 0) continue;
    const where = own.gfnStart !== undefined || own.gfnCount !== undefined ? ['vcpuWorkloads', i] : ['workload'];
    issues.push({
      path: [...where, 'gfnCount'],
      message: `vCPU${i}'s gfns ${gfnRange(w.gfnStart, w.gfnStart + w.gfnCount)} reach gfn 0x${gap.toString(16)}, which no memslot ever holds: its accesses there would be MMIO exits, not memory`,
    });
    // One vCPU named is enough when they share the workload.
    if (where[0] === 'workload') break;
  }
  // Memslots created or moved later count: an invalidation may be meant for
  // them. One invalidation is one host (hva) range, and memslots' host ranges
  // are not contiguous: its gfns must lie in one memslot, as it is at some time.
  s.host.invalidations.forEach((inv, k) => {
    const at = ['host', 'invalidations', k];
    if (inv.age === true && inv.kind !== 'reclaim') {
      issues.push({
        path: [...at, 'age'],
        message: `only a reclaim ages its pages first (folio_referenced); this is a ${inv.kind}: expected kind reclaim, or no age`,
      });
    }
    const end = inv.gfnStart + inv.gfnCount;
    if (regions.some((m) => m.baseGfn <= inv.gfnStart && end <= m.baseGfn + m.pages)) {
      if (inv.rangePages > inv.gfnCount) {
        issues.push({
          path: [...at, 'rangePages'],
          message: `ranges of ${inv.rangePages} pages do not fit in gfns ${gfnRange(inv.gfnStart, end)} (gfnCount ${inv.gfnCount}): expected rangePages <= gfnCount`,
        });
      }
      return;
    }
    const met = regions.filter((m) => m.baseGfn < end && inv.gfnStart < m.baseGfn + m.pages);
    issues.push({
      path: [...at, 'gfnStart'],
      message:
        met.length === 0
          ? `gfns ${gfnRange(inv.gfnStart, end)} lie in no memslot: the host would invalidate nothing KVM maps`
          : met.length === 1
            ? `gfns ${gfnRange(inv.gfnStart, end)} reach past the memslot at ${gfnRange(met[0]!.baseGfn, met[0]!.baseGfn + met[0]!.pages)} into gfns no memslot holds: expected gfns within it`
            : `gfns ${gfnRange(inv.gfnStart, end)} are not within one memslot (they meet ${met.map((m) => gfnRange(m.baseGfn, m.baseGfn + m.pages)).join(', ')}): an invalidation is one host range, and memslots' host ranges are apart; expected one invalidation per memslot`,
    });
  });
  return issues;
}
