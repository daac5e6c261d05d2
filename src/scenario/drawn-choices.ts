import { drawsGfn, drawsWrite } from '../kvm/workload.js';
import { invalidationPlaces } from './instantiate.js';
import type { Scenario } from './schema.js';
import { vcpuWorkload } from './vcpu-workload.js';

/**
 * What the model of `scenario` draws from the run's random draws, in words, one
 * entry a kind ("the gfn each access touches and whether it writes (vCPU0,
 * vCPU1)"); empty when nothing is drawn. A systematic search re-runs the same
 * draws (those of its seed) in every execution, so its verdict covers that draw
 * of them only.
 */
export function drawnChoices(scenario: Scenario): string[] {
  const byWhat = new Map<string, string[]>();
  const add = (what: string, who: string) => byWhat.set(what, [...(byWhat.get(what) ?? []), who]);
  for (let i = 0; i < scenario.vm.vcpus; i++) {
    const w = vcpuWorkload(scenario, i);
    const what = [drawsGfn(w) ? 'the gfn each access touches' : '', drawsWrite(w) ? 'whether it writes' : ''].filter((x) => x !== '');
    if (what.length > 0) add(what.join(' and '), `vCPU${i}`);
  }
  scenario.host.invalidations.forEach((spec, k) => {
    if (invalidationPlaces(spec) > 1) add('where each invalidation falls', `host.invalidations[${k}]`);
  });
  return [...byWhat].map(([what, who]) => `${what} (${who.join(', ')})`);
}
