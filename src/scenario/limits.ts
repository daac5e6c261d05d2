import { getHeapStatistics } from 'node:v8';
import { InputError } from './input-error.js';
import { LIMITS, type Scenario } from './schema.js';
import { phaseWorkloads, vcpuWorkload } from './vcpu-workload.js';

/** Rough bytes the model keeps per vCPU besides its TLB (thread, generator, requests, metrics). */
const BYTES_PER_VCPU = 32 * 1024;
/** Rough bytes per TLB entry (a Map entry). */
const BYTES_PER_TLB_ENTRY = 96;
/** Mirrors TLB_CAPACITY in src/kvm/vcpu.ts. */
const TLB_ENTRIES = 1536;
/** Rough bytes per guest page the model may map (SPTE, page-table slot, rmap, host page). */
const BYTES_PER_PAGE = 256;

/** What a run could touch at most, and a rough estimate of the memory the model needs. */
export interface ResourceEstimate {
  totalSlotPages: number;
  /** Distinct guest pages the run may map, at most. */
  pagesTouched: number;
  bytes: number;
}

/** Guest accesses each vCPU may make (Infinity: no limit of its own). */
function vcpuAccessLimits(s: Scenario): number[] {
  return Array.from({ length: s.vm.vcpus }, (_, i) => {
    const a = s.vcpuWorkloads[i]?.accesses ?? s.workload.accesses;
    return a === 0 ? Number.POSITIVE_INFINITY : a;
  });
}

/** A rough upper bound of what `s` makes the model allocate. */
export function estimateResources(s: Scenario): ResourceEstimate {
  const totalSlotPages = s.vm.memslots.reduce((a, m) => a + m.pages, 0);
  // Workload ranges (per-vCPU overrides included), capped by the memslots.
  const ranges = new Set<string>();
  for (let i = 0; i < s.vm.vcpus; i++) {
    const w = vcpuWorkload(s, i);
    for (const r of [w, ...phaseWorkloads(w)]) ranges.add(`${r.gfnStart}:${r.gfnCount}`);
  }
  let span = 0;
  for (const r of ranges) span += Number(r.split(':')[1]);
  let accesses = vcpuAccessLimits(s).reduce((a, b) => a + b, 0);
  if (s.stop.accesses !== undefined && s.stop.accesses > 0) accesses = Math.min(accesses, s.stop.accesses);
  const pagesTouched = Math.min(span, totalSlotPages, accesses);
  const tlb = s.vm.vcpus * Math.min(TLB_ENTRIES, span) * BYTES_PER_TLB_ENTRY;
  const bytes = s.vm.vcpus * BYTES_PER_VCPU + tlb + pagesTouched * BYTES_PER_PAGE;
  return { totalSlotPages, pagesTouched, bytes };
}

/** Threads that never end on their own (no count): what they are, and what gives them a count. */
export interface EndlessThreads {
  /** Each kind of such thread, described. */
  threads: string[];
  /**
   * One remedy per kind: on the command line where a size knob can give the
   * count (faultsPerVcpu, invalidations), in the scenario where none can (the
   * APIC-access page's migrations).
   */
  remedies: string[];
}

/** The threads of `s` that never end on their own, and their remedies (both empty when every thread has a count). */
export function endlessThreads(s: Scenario): EndlessThreads {
  const threads: string[] = [];
  const remedies: string[] = [];
  const unlimitedVcpus = vcpuAccessLimits(s).filter((a) => a === Number.POSITIVE_INFINITY).length;
  if (unlimitedVcpus > 0) {
    threads.push(`${unlimitedVcpus} vCPU${unlimitedVcpus > 1 ? 's' : ''} with workload.accesses 0 (no limit)`);
    remedies.push('--set faultsPerVcpu=F with F at least 1');
  }
  s.host.invalidations.forEach((inv, k) => {
    if (inv.count === 0) threads.push(`host.invalidations[${k}] with count 0 (no limit)`);
  });
  if (s.host.invalidations.some((inv) => inv.count === 0)) remedies.push('--set invalidations=I with I at least 1');
  if (s.vm.apicAccessPage && s.host.apicPageMigrationNs > 0 && s.host.apicPageMigrations === 0) {
    threads.push('host.apicPageMigrations 0 (no limit)');
    remedies.push('host.apicPageMigrations at least 1 in the scenario (no --set sizes it)');
  }
  return { threads, remedies };
}

/** Why the run of `s` might never end on its own, or null when something bounds it. */
export function unboundedReason(s: Scenario): string | null {
  if (s.stop.timeNs !== undefined) return null;
  const total = vcpuAccessLimits(s).reduce((a, b) => a + b, 0);
  const stopAccesses = s.stop.accesses !== undefined && s.stop.accesses > 0 ? s.stop.accesses : undefined;
  // Reaching stop.accesses ends the run whatever the host threads do.
  if (stopAccesses !== undefined && total >= stopAccesses) return null;
  const endless = endlessThreads(s).threads;
  if (endless.length === 0) return null;
  const acc = stopAccesses !== undefined ? `stop.accesses ${stopAccesses} is more than the vCPUs will make` : 'no stop.accesses';
  return `no stop.timeNs, ${acc}, and ${endless.join(', ')}: the run would never end`;
}

/** Bytes this process may use: the JS heap limit (the model lives on the heap). */
export function memoryBudget(): number {
  return getHeapStatistics().heap_size_limit;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 2 : 1)} GiB`;

/**
 * Refuses, up front and as bad input, a scenario that asks for more than one run
 * can deliver: more memslot pages than the schema's limit, a stop condition that
 * never comes, or a rough memory estimate beyond what the process may use.
 */
export function checkScenarioLimits(s: Scenario, where: string, budget = memoryBudget()): void {
  const e = estimateResources(s);
  if (e.totalSlotPages > LIMITS.pages) {
    throw new InputError(`${where}: vm.memslots: ${e.totalSlotPages} pages in all, more than the limit of ${LIMITS.pages} (2^32 pages, 16 TiB)`);
  }
  const why = unboundedReason(s);
  if (why !== null) throw new InputError(`${where}: stop: ${why}; give stop.timeNs or stop.accesses (or finite workload.accesses and host counts)`);
  if (e.bytes > budget) {
    throw new InputError(
      `${where}: too big: needs about ${gib(e.bytes)} of memory (${s.vm.vcpus} vCPUs with their TLBs, up to ${e.pagesTouched} guest pages mapped), more than the ${gib(budget)} this process may use; reduce vm.vcpus, workload.gfnCount or the accesses`,
    );
  }
}
