import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explore } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { PctStrategy } from '../../src/check/pct.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import { idleMutantNote } from '../../src/cli/mutant-note.js';
import { MUTANTS } from '../../src/kvm/mutants.js';
import type { Instance } from '../../src/runtime/instance.js';
import type { KvmInstance } from '../../src/scenario/instantiate.js';

/** A factory that keeps the last instance it built. */
function keepingLast(f: InstanceFactory): { make: InstanceFactory; last: () => KvmInstance } {
  let last: Instance | null = null;
  return {
    make: (o) => {
      last = f(o);
      return last;
    },
    last: () => last as unknown as KvmInstance,
  };
}

test('mutants: in the execution where each mutant breaks its scenario, it acted (Mutation.acted > 0); the unmutated model counts nothing', () => {
  for (const m of MUTANTS) {
    const k = keepingLast(factoryFor(m.scenario, [], m.name));
    const r = explore(k.make, new PctStrategy(1, 3), { maxExecutions: 20_000 });
    assert.ok(r.violation !== null, `${m.name}: not found`);
    assert.ok(k.last().kvm.mutation.acted > 0, `${m.name}: violated ${r.violation.kind} but never acted`);
    const plain = keepingLast(factoryFor(m.scenario, [], null));
    explore(plain.make, new PctStrategy(1, 3), { maxExecutions: 50 });
    assert.equal(plain.last().kvm.mutation.acted, 0, m.scenario);
  }
});

test('idle mutant note: names the runs in which the mutant never acted, and only those', () => {
  const acted = (...n: number[]) => n.map((mutantActed) => ({ mutantActed }));
  assert.equal(
    idleMutantNote('zap-root-no-request', [{ label: null, results: acted(0) }]),
    "--mutate zap-root-no-request never acted in this run: nothing reached the place where it departs from the kernel (it is meant for root-zap-mini), so the results are the unmutated protocol's",
  );
  assert.equal(idleMutantNote('zap-root-no-request', [{ label: null, results: acted(3) }]), null);
  assert.equal(idleMutantNote(null, [{ label: null, results: acted(0) }]), null);
  // A variant with one seed where it acted is not named; one where it never did is.
  assert.match(
    idleMutantNote('zap-root-no-request', [
      { label: 'mmu=tdp', results: acted(0, 0) },
      { label: 'mmu=shadow', results: acted(0, 2) },
    ])!,
    /never acted in variant mmu=tdp: /,
  );
  assert.match(
    idleMutantNote('zap-root-no-request', [
      { label: 'a', results: acted(0) },
      { label: 'b', results: acted(0) },
    ])!,
    /never acted in any variant: /,
  );
});
