import assert from 'node:assert/strict';
import type { Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import type { Settings } from '../../src/kvm/settings.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runAlone } from './shadow-harness.js';

/** An aging check world (age-vs-numa-mini, age-access-track-mini), its own threads never stepping: the test drives it. */
export function agingWorld(scenario: string, over: Partial<Settings> = {}, mutant: string | null = null) {
  const s = loadScenario(scenario);
  const inst = createInstance(s, { settings: effectiveSettings(s, over), mutant, log: false, metrics: false });
  const kvm = inst.kvm;
  return { inst, kvm, hva: kvm.memslots.byId(0)!.hvaPage };
}

/** `scenario`'s world with both vCPUs' roots loaded and vCPU0's write fault mapping gfn 0; `log` then attached. */
export function mappedLeafWorld<L extends Sink>(scenario: string, log: L, over: Partial<Settings> = {}, mutant: string | null = null) {
  const w = agingWorld(scenario, over, mutant);
  const v = w.kvm.vcpus[0]!;
  runAlone(w.inst, function* () {
    yield* w.kvm.mmu.reloadRoot(v);
    yield* w.kvm.mmu.reloadRoot(w.kvm.vcpus[1]!);
    assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
  });
  w.kvm.subscribe(log);
  return { ...w, v, log };
}
