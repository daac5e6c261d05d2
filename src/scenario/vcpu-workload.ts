import type { Scenario, Workload } from './schema.js';

/** vCPU i's workload: the scenario's `workload`, with the keys its `vcpuWorkloads` entry gives over it. */
export function vcpuWorkload(s: Pick<Scenario, 'workload' | 'vcpuWorkloads'>, i: number): Workload {
  return { ...s.workload, ...(s.vcpuWorkloads[i] ?? {}) };
}
