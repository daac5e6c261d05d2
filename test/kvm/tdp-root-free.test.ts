import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explore } from '../../src/check/explore.js';
import { PctStrategy } from '../../src/check/pct.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import { TdpMmu } from '../../src/kvm/tdp-mmu.js';
import { effectiveSettings, type KvmInstance } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

test('oracle (a probe: a TDP root freed one put too early only crashed the model, exit 3, no counterexample): a root put wrongly is an accounting violation, with its counterexample', () => {
  // The kernel bug: a put that drops two references. Patched in for this test only.
  const proto = TdpMmu.prototype as unknown as { putRoot: (root: { refcount: number }, vcpu: number) => void };
  const put = proto.putRoot;
  proto.putRoot = function (this: unknown, root: { refcount: number }, vcpu: number) {
    if (root.refcount === 2) root.refcount--;
    put.call(this, root, vcpu);
  };
  try {
    const r = explore(factoryFor('memslot-delete-mini', ['mmu=tdp'], null), new PctStrategy(1, 3), { maxExecutions: 2_000 });
    assert.equal(r.violation?.kind, 'accounting', JSON.stringify(r.violation));
    assert.ok(r.schedule !== null);
  } finally {
    proto.putRoot = put;
  }
  const good = explore(factoryFor('memslot-delete-mini', ['mmu=tdp'], null), new PctStrategy(1, 3), { maxExecutions: 2_000 });
  assert.equal(good.violation, null);
});

test('TDP accounting: a vCPU whose root was freed under it is named (the list of live roots no longer holds that root)', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  let inst: KvmInstance | null = null;
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1, onInstance: (i) => (inst = i) });
  assert.deepEqual(r.violations, []);
  const { kvm } = inst as unknown as KvmInstance;
  const mmu = kvm.mmu as TdpMmu;
  assert.deepEqual(mmu.checkAccounting(), []);
  const v = kvm.vcpus.find((x) => x.root.root >= 0)!;
  const root = mmu.roots.find((x) => x.id === v.root.root)!;
  // As a put that freed it too early leaves it: gone from the list, marked freed.
  root.freed = true;
  mmu.roots.splice(mmu.roots.indexOf(root), 1);
  const users = kvm.vcpus.filter((x) => x.root.root === root.id).map((x) => `vCPU${x.id} still uses root ${root.id}, which was freed`);
  assert.ok(users.length > 0);
  assert.deepEqual(mmu.checkAccounting(), users);
});
