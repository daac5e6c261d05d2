/** The small check scenarios as the checker benchmarks build them. */
import type { InstanceFactory } from '../check/index.js';
import { createInstance, effectiveSettings } from '../scenario/instantiate.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import { resize } from '../scenario/size.js';

/** fault-vs-invalidation-mini (or another scenario) at N×I×F. */
export function sized(name: string, vcpus?: number, invalidations?: number, faultsPerVcpu?: number): Scenario {
  return resize(loadScenario(name), { vcpus, invalidations, faultsPerVcpu });
}

/** Fresh instances of `scenario` (with `mutant`), metrics off, as `mmulab check` builds them. */
export function factory(scenario: Scenario, mutant: string | null): InstanceFactory {
  const settings = effectiveSettings(scenario);
  return (o) => createInstance(scenario, { settings, mutant, log: o.log, progress: o.progress, metrics: false });
}
