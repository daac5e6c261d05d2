import { drawsWrite, largestGfnDraw } from '../kvm/workload.js';
import { invalidationPlaces } from './instantiate.js';
import type { Scenario } from './schema.js';
import { phaseWorkloads, vcpuWorkload } from './vcpu-workload.js';

/**
 * What the model of `scenario` draws from the run's random draws, in words, one
 * entry a kind ("the gfn each access touches and whether it writes (vCPU0,
 * vCPU1)"); empty when nothing is drawn. Only the choices some draw of which
 * takes more than `over` values are named: a systematic search that branches on
 * draws of up to `over` values (dfs --draws explore) takes the others from the
 * seed, the same in every execution, so its verdict covers that draw of them
 * only; one that branches on none (over 1) takes them all from the seed.
 */
export function drawnChoices(scenario: Scenario, over = 1): string[] {
  const byWhat = new Map<string, string[]>();
  const add = (what: string, who: string) => byWhat.set(what, [...(byWhat.get(what) ?? []), who]);
  for (let i = 0; i < scenario.vm.vcpus; i++) {
    const base = vcpuWorkload(scenario, i);
    // Each phase draws as its own keys say.
    const ws = [base, ...phaseWorkloads(base)];
    const what = [
      ws.some((w) => largestGfnDraw(w) > over) ? 'the gfn each access touches' : '',
      ws.some(drawsWrite) && 2 > over ? 'whether it writes' : '',
    ].filter((x) => x !== '');
    if (what.length > 0) add(what.join(' and '), `vCPU${i}`);
  }
  scenario.host.invalidations.forEach((spec, k) => {
    if (invalidationPlaces(spec) > over) add('where each invalidation falls', `host.invalidations[${k}]`);
  });
  return [...byWhat].map(([what, who]) => `${what} (${who.join(', ')})`);
}
