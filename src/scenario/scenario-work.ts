import type { Scenario } from './schema.js';
import { vcpuWorkload } from './vcpu-workload.js';

/**
 * The units of work a (finite) scenario's threads do: the vCPUs' accesses, the
 * host's invalidations and APIC-access page migrations, the VMM's memslot
 * changes. Each takes a few dozen steps of an execution (a check scenario's run
 * about 10 a unit), retries aside: what a bound on an execution's steps is to
 * be read against. An unbounded count (0) counts as one.
 */
export function scenarioWork(s: Scenario): number {
  let work = s.host.memslotChanges.length + Math.max(1, s.host.apicPageMigrations);
  for (let i = 0; i < s.vm.vcpus; i++) work += Math.max(1, vcpuWorkload(s, i).accesses);
  for (const inv of s.host.invalidations) work += inv.threads * Math.max(1, inv.count);
  return work;
}
