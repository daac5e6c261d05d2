import type { GuestCpuSpec } from '../kvm/guest-paging.js';
import { APIC_ACCESS_GFN, APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, type Memslot } from '../kvm/memslots.js';
import type { Settings } from '../kvm/settings.js';
import type { PhasePlan } from '../kvm/workload.js';
import { GuestRam, initialHvaPages } from './guest-ram.js';
import { inVmmOrder } from './memslot-rules.js';
import type { Scenario, Workload } from './schema.js';
import { shadowGuestSpecs, withPageTableMemslot } from './shadow-guest.js';
import { phasePlan, vcpuWorkload } from './vcpu-workload.js';

/**
 * What every instance of a scenario is built from and none of them changes:
 * the memslots as laid out at the start, each vCPU's workload, the guest's
 * page-table layout under shadow paging, where the VMM's RAM lies in the host
 * and the VMM's memslot changes in the order it makes them. The checker builds
 * an instance per execution, tens of thousands a second; working this out once
 * per scenario rather than once per instance took a quarter of the build.
 */
export interface ScenarioPlan {
  /** The scenario's memslots, laid out in the host. */
  readonly laidOut: readonly Memslot[];
  /** The memslots the VMM gives KVM: laidOut, plus the guest's page tables' under shadow paging. */
  readonly userSlots: readonly Memslot[];
  /** Every memslot at the start: userSlots and KVM's private ones. */
  readonly slots: readonly Memslot[];
  /** vCPU i's workload. */
  readonly workloads: readonly Workload[];
  /** vCPU i's phases (workload.phases), or null for none. */
  readonly phases: readonly (PhasePlan | null)[];
  /** Under shadow paging, each vCPU's guest paging layout; null under TDP. */
  readonly guestSpecs: readonly GuestCpuSpec[] | null;
  /** The VMM's guest RAM in host terms. */
  readonly ram: GuestRam;
  /** The VMM's memslot changes, in the order it makes them. */
  readonly vmmChanges: readonly { c: Scenario['host']['memslotChanges'][number]; k: number }[];
}

/** Where the APIC-access page's host page lies: after every user slot. */
function apicHvaPage(slots: readonly Memslot[]): number {
  let top = 0x7f0000000;
  for (const s of slots) top = Math.max(top, s.hvaPage + s.npages);
  return top + 512;
}

/** Lays out memslots: each defaults to the host range right after the previous one. */
function layoutMemslots(scenario: Scenario): Memslot[] {
  const hva = initialHvaPages(scenario.vm.memslots);
  return scenario.vm.memslots.map((m, k) => ({ id: m.id, baseGfn: m.baseGfn, npages: m.pages, hvaPage: hva[k]!, flags: 0 }));
}

function makePlan(scenario: Scenario, mmu: Settings['mmu']): ScenarioPlan {
  const laidOut = layoutMemslots(scenario);
  const userSlots = mmu === 'shadow' ? withPageTableMemslot(scenario, laidOut) : laidOut;
  const slots = [...userSlots];
  const apicHva = apicHvaPage(userSlots);
  const workloads = Array.from({ length: scenario.vm.vcpus }, (_, i) => vcpuWorkload(scenario, i));
  if (scenario.vm.apicAccessPage) {
    slots.push({ id: APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, baseGfn: APIC_ACCESS_GFN, npages: 1, hvaPage: apicHva, flags: 0 });
  }
  return {
    laidOut,
    userSlots,
    slots,
    workloads,
    phases: workloads.map(phasePlan),
    guestSpecs: mmu === 'shadow' ? shadowGuestSpecs(scenario, userSlots) : null,
    ram: new GuestRam(scenario, laidOut, apicHva + 1024),
    vmmChanges: inVmmOrder(scenario.host.memslotChanges),
  };
}

/** Plans by scenario, then by MMU (the only setting a plan depends on). */
const plans = new WeakMap<Scenario, Map<Settings['mmu'], ScenarioPlan>>();

/**
 * The plan of `scenario` under `mmu`, worked out on first use. A scenario is
 * not changed once loaded (settings and sizes make new ones), so its plan holds
 * for as long as it lives. A scenario the plan refuses (a layout shadow paging
 * cannot have) is refused again at every call: nothing is kept for it.
 */
export function scenarioPlan(scenario: Scenario, mmu: Settings['mmu']): ScenarioPlan {
  let byMmu = plans.get(scenario);
  if (byMmu === undefined) {
    byMmu = new Map();
    plans.set(scenario, byMmu);
  }
  let plan = byMmu.get(mmu);
  if (plan === undefined) {
    plan = makePlan(scenario, mmu);
    byMmu.set(mmu, plan);
  }
  return plan;
}
