import { type DirtyLogFlavour, setFlavour } from './dirty-log-flavour.js';
import { InputError } from './input-error.js';
import type { Scenario } from './schema.js';

/**
 * The knobs --set and --vary change a scenario by: the size knobs every
 * scenario accepts (issue 4's N × I × F), and the dirty-log flavour knobs a
 * scenario with host.dirtyLog accepts.
 */
export interface ScenarioSize {
  /** N: vCPUs. */
  vcpus?: number;
  /** I: invalidations done by each host invalidation thread. */
  invalidations?: number;
  /** F: guest accesses per vCPU (each faults when the page is not mapped). */
  faultsPerVcpu?: number;
  /** host.dirtyLog's flavour: get, manual, manual-initially-set, ring or ring:N (dirty-log-flavour.ts). */
  dirtyLog?: DirtyLogFlavour;
  /** host.dirtyLog.ringSize (mode ring only). */
  ringSize?: number;
}

/**
 * A copy of `scenario` resized; knobs left undefined keep the scenario's value.
 * A knob the scenario has nothing to resize with is refused (InputError
 * "<knob>=<n>: …"), not ignored.
 */
export function resize(scenario: Scenario, size: ScenarioSize): Scenario {
  const s = structuredClone(scenario);
  if (size.vcpus !== undefined) {
    const own = s.vcpuWorkloads.length;
    if (size.vcpus < own)
      throw new InputError(`vcpus=${size.vcpus}: the scenario gives ${own} vCPUs workloads of their own (vcpuWorkloads); expected vcpus >= ${own}`);
    s.vm.vcpus = size.vcpus;
  }
  if (size.invalidations !== undefined) {
    if (size.invalidations > 0 && s.host.invalidations.length === 0)
      throw new InputError(
        `invalidations=${size.invalidations}: the scenario has no host invalidation thread to resize (host.invalidations is empty); expected a scenario with one`,
      );
    // A count of 0 means "no limit" to an invalidation thread: I = 0 means none at all.
    if (size.invalidations === 0) s.host.invalidations = [];
    else for (const inv of s.host.invalidations) inv.count = size.invalidations;
  }
  if (size.faultsPerVcpu !== undefined) {
    s.workload.accesses = size.faultsPerVcpu;
    // F for every vCPU: also for those whose own workload sets its accesses.
    for (const w of s.vcpuWorkloads) if (w.accesses !== undefined) w.accesses = size.faultsPerVcpu;
  }
  if (size.dirtyLog !== undefined || size.ringSize !== undefined) setFlavour(s, size.dirtyLog, size.ringSize);
  return s;
}
