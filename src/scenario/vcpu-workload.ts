import type { PhasePlan } from '../kvm/workload.js';
import { PHASE_KEYS, type Phase, type Scenario, type Workload } from './schema.js';

/** vCPU i's workload: the scenario's `workload`, with the keys its `vcpuWorkloads` entry gives over it. */
export function vcpuWorkload(s: Pick<Scenario, 'workload' | 'vcpuWorkloads'>, i: number): Workload {
  return { ...s.workload, ...(s.vcpuWorkloads[i] ?? {}) };
}

/** Each phase of a base workload as the vCPU runs it: the phase's keys over the base (not over the phase before). */
export function phaseWorkloads(base: Workload): Workload[] {
  return (base.phases ?? []).map((p) => phaseOver(base, p));
}

function phaseOver(base: Workload, p: Phase): Workload {
  const w: Record<string, unknown> = { ...base };
  for (const k of PHASE_KEYS) if (p[k] !== undefined) w[k] = p[k];
  return w as Workload;
}

/** What vCPU i's access pattern follows over its run (AccessPattern), or null when its workload has no phases. */
export function phasePlan(base: Workload): PhasePlan | null {
  const phases = base.phases;
  if (phases === undefined || phases.length === 0) return null;
  const byAccess = phases[0]!.fromAccess !== undefined;
  return {
    byAccess,
    starts: phases.map((p) => (byAccess ? p.fromAccess! : p.fromNs!)),
    specs: phases.map((p) => phaseOver(base, p)),
  };
}
