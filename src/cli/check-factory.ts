import type { InstanceFactory } from '../check/factory.js';
import type { Sink } from '../kvm/events.js';
import { createInstance, effectiveSettings } from '../scenario/instantiate.js';
import { loadScenario } from '../scenario/load.js';
import { applySets } from './overrides.js';

/** Builds the model factory for a scenario reference and its --set list (as counterexamples record them). */
export function factoryFor(ref: string, sets: readonly string[], mutant: string | null, sinks?: () => Sink[]): InstanceFactory {
  const { scenario, settings } = applySets(loadScenario(ref), sets);
  const eff = effectiveSettings(scenario, settings);
  return (o) => createInstance(scenario, { settings: eff, mutant, log: o.log, metrics: false, sinks: sinks?.() });
}
