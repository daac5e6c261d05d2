import type { Scenario } from './schema.js';

/** The size knobs every scenario accepts (issue 4's N × I × F). */
export interface ScenarioSize {
  /** N: vCPUs. */
  vcpus?: number;
  /** I: invalidations done by each host invalidation thread. */
  invalidations?: number;
  /** F: guest accesses per vCPU (each faults when the page is not mapped). */
  faultsPerVcpu?: number;
}

/** A copy of `scenario` resized; knobs left undefined keep the scenario's value. */
export function resize(scenario: Scenario, size: ScenarioSize): Scenario {
  const s = structuredClone(scenario);
  if (size.vcpus !== undefined) s.vm.vcpus = size.vcpus;
  if (size.invalidations !== undefined) {
    // A count of 0 means "no limit" to an invalidation thread: I = 0 means none at all.
    if (size.invalidations === 0) s.host.invalidations = [];
    else for (const inv of s.host.invalidations) inv.count = size.invalidations;
  }
  if (size.faultsPerVcpu !== undefined) s.workload.accesses = size.faultsPerVcpu;
  return s;
}
