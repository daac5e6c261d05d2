import { type GuestCpuSpec, KERNEL_PT_GFNS, PT_BASE, USER_TOP } from '../kvm/guest-paging.js';
import type { Memslot } from '../kvm/memslots.js';
import { InputError } from './input-error.js';
import type { Scenario, Workload } from './schema.js';
import { phaseWorkloads, vcpuWorkload } from './vcpu-workload.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** Whether [start, end) lies inside one memslot. */
function inOneSlot(slots: readonly Memslot[], start: number, end: number): boolean {
  return slots.some((s) => start >= s.baseGfn && end <= s.baseGfn + s.npages);
}

/** Id of the memslot added for the guest's page tables when no user memslot holds them. */
export const PAGE_TABLE_MEMSLOT = 0x7ffe;

/**
 * The memslots of a shadow-paged scenario: `slots`, plus — when none of them holds
 * the guest's page tables at PT_BASE — one that does, sized for the guest kernel's
 * own tables and every vCPU's default page-table region (as if the VMM had given
 * the guest that RAM). A scenario written for TDP can so run with mmu=shadow.
 */
export function withPageTableMemslot(scenario: Scenario, slots: readonly Memslot[]): Memslot[] {
  const out = [...slots];
  if (slots.some((s) => PT_BASE >= s.baseGfn && PT_BASE < s.baseGfn + s.npages)) return out;
  let pages = KERNEL_PT_GFNS;
  // Shared processes take their tables from one region, vCPU0's.
  const regions = scenario.workload.sharedProcesses === true ? 1 : scenario.vm.vcpus;
  for (let i = 0; i < regions; i++) pages += vcpuWorkload(scenario, i).pageTableGfns;
  const clash = slots.find((s) => s.baseGfn < PT_BASE + pages && PT_BASE < s.baseGfn + s.npages);
  if (clash !== undefined) {
    throw new InputError(
      `vm.memslots: memslot ${clash.id}'s gfns [${hex(clash.baseGfn)}, ${hex(clash.baseGfn + clash.npages)}) overlap the page-table memslot shadow paging adds at [${hex(PT_BASE)}, ${hex(PT_BASE + pages)}) when no memslot holds gfn ${hex(PT_BASE)}: expected a memslot that holds gfn ${hex(PT_BASE)}, or none in that range`,
    );
  }
  let hva = 0;
  for (const s of slots) hva = Math.max(hva, s.hvaPage + s.npages + 512);
  out.push({ id: PAGE_TABLE_MEMSLOT, baseGfn: PT_BASE, npages: pages, hvaPage: hva, flags: 0 });
  return out;
}

/** Where vCPU i's page tables start: its workload's pageTableGfnStart, or its share after the guest kernel's. */
function pageTableStart(w: Workload, i: number): number {
  return w.pageTableGfnStart ?? PT_BASE + KERNEL_PT_GFNS + i * w.pageTableGfns;
}

/**
 * The fewest page-table pages a vCPU's processes hold at once: each a PGD and
 * one table per lower level (a process that maps one page), one process more
 * while an exiting one is replaced. More are needed as they map more pages,
 * which only the run shows (a workload may never touch most of its gfns).
 */
function pageTablePagesNeeded(w: Workload): number {
  return (Math.max(1, w.processes) + (w.processExitNs > 0 ? 1 : 0)) * 4;
}

/**
 * The guest-kernel layout of a shadow-paged scenario, one spec per vCPU: its
 * processes and where their page tables live. Refuses, as bad input, a layout the
 * guest could not have: user accesses above the user half, or page tables outside
 * the memslots or below the kernel half.
 */
export function shadowGuestSpecs(scenario: Scenario, slots: readonly Memslot[]): GuestCpuSpec[] {
  const n = scenario.vm.vcpus;
  if (!inOneSlot(slots, PT_BASE, PT_BASE + KERNEL_PT_GFNS)) {
    throw new InputError(
      `vm.memslots: shadow paging needs a memslot holding the guest kernel's page tables at gfns [${hex(PT_BASE)}, ${hex(PT_BASE + KERNEL_PT_GFNS)})`,
    );
  }
  sharedProcessesIssue(scenario);
  const shared = scenario.workload.sharedProcesses === true;
  const specs: GuestCpuSpec[] = [];
  for (let i = 0; i < n; i++) {
    const w = vcpuWorkload(scenario, i);
    // Where a value of vCPU i's comes from: its vcpuWorkloads entry when that sets one of `keys`, else the workload.
    const own: Partial<Workload> = scenario.vcpuWorkloads[i] ?? {};
    const from = (...keys: (keyof Workload)[]) => (keys.some((k) => own[k] !== undefined) ? `vcpuWorkloads[${i}]` : 'workload');
    if (w.gfnStart + w.gfnCount > USER_TOP) {
      throw new InputError(
        `${from('gfnStart', 'gfnCount')}: gfnStart + gfnCount ${w.gfnStart + w.gfnCount} reaches past the guest's user half (${hex(USER_TOP)}) under shadow paging`,
      );
    }
    phaseWorkloads(w).forEach((p, k) => {
      if (p.gfnStart + p.gfnCount > USER_TOP) {
        throw new InputError(
          `${from('phases')}.phases[${k}]: gfnStart + gfnCount ${p.gfnStart + p.gfnCount} reaches past the guest's user half (${hex(USER_TOP)}) under shadow paging`,
        );
      }
    });
    // Shared, the guest's page tables are vCPU0's region alone: the others' are never used.
    const start = pageTableStart(w, shared ? 0 : i);
    if (w.pageTableGfnStart === undefined && !inOneSlot(slots, start, start + w.pageTableGfns)) {
      // Placed by default, after the guest kernel's and the vCPUs' before: the memslot is too small.
      throw new InputError(
        `vm.memslots: vCPU${i}'s page tables, its ${w.pageTableGfns} gfns after the guest kernel's and the vCPUs' before at [${hex(start)}, ${hex(start + w.pageTableGfns)}), lie outside the memslot holding page tables; expected one holding [${hex(PT_BASE)}, ${hex(start + w.pageTableGfns)}), or fewer vCPUs`,
      );
    }
    if (start < PT_BASE || !inOneSlot(slots, start, start + w.pageTableGfns)) {
      throw new InputError(
        `${from('pageTableGfnStart')}.pageTableGfnStart: vCPU${i}'s page tables at [${hex(start)}, ${hex(start + w.pageTableGfns)}) must lie in one memslot at or above ${hex(PT_BASE)}`,
      );
    }
    const need = pageTablePagesNeeded(w);
    if (need > w.pageTableGfns) {
      throw new InputError(
        `${from('pageTableGfns')}.pageTableGfns: ${w.pageTableGfns} pages cannot hold the page tables of vCPU${i}'s processes: at least ${need} are needed (${Math.max(1, w.processes)} process(es) at once${w.processExitNs > 0 ? ', and one more while an exiting one is replaced' : ''}, each a PGD and 3 lower tables); expected at least ${need}`,
      );
    }
    specs.push({
      processes: Math.max(1, w.processes),
      processSwitchNs: w.processSwitchNs,
      processExitNs: w.processExitNs,
      munmapNs: w.munmapNs ?? 0,
      munmapFlush: w.munmapFlush ?? 'cr3',
      pageTableGfnStart: start,
      pageTableGfns: w.pageTableGfns,
      pageTableGfnsField: `${from('pageTableGfns')}.pageTableGfns`,
      phase: i / n,
      sharedProcesses: scenario.workload.sharedProcesses === true,
    });
  }
  return specs;
}

/** What a vcpuWorkloads entry may not set under sharedProcesses: the guest's one run list and allocator are the workload's. */
const GUEST_WIDE = ['processes', 'pageTableGfnStart', 'pageTableGfns'] as const;

/**
 * Refuses what sharedProcesses cannot mean: a per-vCPU choice of it or of the
 * guest's processes and their page-table region (one for the whole guest), and
 * exits with a single process on several vCPUs, where a thread that exits while
 * others run on has no other process to switch to.
 */
function sharedProcessesIssue(scenario: Scenario): void {
  scenario.vcpuWorkloads.forEach((own, i) => {
    if (own.sharedProcesses !== undefined) {
      throw new InputError(
        `vcpuWorkloads[${i}].sharedProcesses: whether the vCPUs run threads of the same processes is the guest's, not one vCPU's; expected it set in workload only`,
      );
    }
    const k = scenario.workload.sharedProcesses === true ? GUEST_WIDE.find((f) => own[f] !== undefined) : undefined;
    if (k === undefined) return;
    throw new InputError(
      `vcpuWorkloads[${i}].${k}: with workload.sharedProcesses the processes and their page tables are the guest's, one set for every vCPU; expected ${k} set in workload only`,
    );
  });
  const w = scenario.workload;
  if (w.sharedProcesses === true && scenario.vm.vcpus > 1 && w.processExitNs > 0 && Math.max(1, w.processes) < 2) {
    throw new InputError(
      `workload.processes: ${w.processes} with sharedProcesses and processExitNs on ${scenario.vm.vcpus} vCPUs: a thread that exits while its process runs on elsewhere switches to another process; expected at least 2`,
    );
  }
}

/**
 * The memslot changes of a shadow-paged scenario that take away page tables a
 * vCPU may still walk: a delete or move of the memslot holding the guest
 * kernel's tables or a vCPU's. The simulator orders such a change after the
 * vCPU is done by time (atNs); the checker ignores time, so it would also run
 * the change first, and the model does not cover a guest running on page
 * tables in no memslot (KVM would give it a dummy root). Described, for the
 * checker to refuse the scenario.
 */
export function pageTablesTakenAway(scenario: Scenario): string[] {
  const out: string[] = [];
  const ranges: [string, number, number][] = [['the guest kernel', PT_BASE, PT_BASE + KERNEL_PT_GFNS]];
  for (let i = 0; i < scenario.vm.vcpus; i++) {
    const w = vcpuWorkload(scenario, i);
    const start = pageTableStart(w, i);
    ranges.push([`vCPU${i}`, start, start + w.pageTableGfns]);
  }
  scenario.host.memslotChanges.forEach((c, k) => {
    if (c.op === 'create') return;
    const slot = scenario.vm.memslots.find((m) => m.id === c.slot);
    if (slot === undefined) return;
    const end = slot.baseGfn + slot.pages;
    const hit = ranges.filter(([, s, e]) => s < end && e > slot.baseGfn).map(([who]) => who);
    if (hit.length > 0) out.push(`host.memslotChanges[${k}] (${c.op} of memslot ${c.slot}) takes away the page tables of ${hit.join(', ')}`);
  });
  return out;
}

/**
 * Whether a run of `scenario` under `mmu` can make INVLPG exits: shadow paging,
 * and some vCPU's munmap (munmapNs) flushing with INVLPG (munmapFlush). Only
 * then does a run's JSON carry the invlpg stat.
 */
export function flushesWithInvlpg(scenario: Scenario, mmu: string): boolean {
  if (mmu !== 'shadow') return false;
  for (let i = 0; i < scenario.vm.vcpus; i++) {
    const w = vcpuWorkload(scenario, i);
    if ((w.munmapNs ?? 0) > 0 && w.munmapFlush === 'invlpg') return true;
  }
  return false;
}
