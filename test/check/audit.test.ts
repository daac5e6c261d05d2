import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditFootprints } from '../../src/check/audit.js';
import { profileRaces } from '../../src/check/race-profile.js';
import { ModelBug } from '../../src/runtime/model-bug.js';
import { assertingCounter, TOY_BUG } from './model-bug-toy.js';
import { abba, counter, precheck, seqProtocol } from './toys.js';

test('footprint audit (seed 1): honest toys commute wherever they say they do', () => {
  for (const f of [counter(3, 2, true), seqProtocol(2, 2, 2), precheck(false), abba()]) {
    assert.deepEqual(auditFootprints(f, { executions: 60 }), []);
  }
});

test('footprint audit (seed 1): a write made under an op that announces another object is caught', () => {
  const found = auditFootprints(precheck(false, true), { executions: 60 });
  assert.ok(found.length > 0);
  const f = found[0]!;
  assert.ok([f.first, f.second].includes('host: write other'), `${f.first} / ${f.second}`);
  assert.ok([f.first, f.second].includes('vCPU0: read in_progress'), `${f.first} / ${f.second}`);
  assert.ok(f.difference.length > 0);
  assert.equal(f.schedule.choices[f.at + 1] !== f.schedule.choices[f.at], true);
});

test('footprint audit (seed 1): the KVM model commutes wherever it says it does, on the check scenarios', async () => {
  const { createInstance, effectiveSettings } = await import('../../src/scenario/instantiate.js');
  const { loadScenario } = await import('../../src/scenario/load.js');
  const { resize } = await import('../../src/scenario/size.js');
  for (const [name, size] of [
    ['fault-vs-invalidation-mini', { vcpus: 3, invalidations: 2, faultsPerVcpu: 2 }],
    ['apic-reload-mini', {}],
    ['root-zap-mini', {}],
    ['cached-roots-mini', {}],
    // Two vCPUs' guest kernels exiting and switching threads of the same processes.
    ['root-zap-shared-mini', {}],
    // A munmap's cleared PTE read by mmu_sync_children, which breaks mmu_lock.
    ['sync-children-mini', {}],
    // Page-table pages reused after an exit, zeroed and shadowed again: two vCPUs (the mini has one thread).
    ['table-reuse-mini', { vcpus: 2 }],
    // Random draws (read or write per access): per-thread streams keep them order-independent.
    ['memslot-delete-mini', {}],
    // The fast zap breaking mmu_lock while vCPUs fault in pages of the new generation.
    ['memslot-delete-lockbreak-mini', {}],
    // The fast zap taking an unsync page along with the root above it while the vCPU unmaps, syncs and refaults.
    ['zap-unsync-children-mini', {}],
    // MMIO SPTEs: faults and the MMIO fast path reading the generation a memslot swap publishes, stores, and wraps
    // (two vCPUs, under both MMUs: the mini has one vCPU).
    ['mmio-gen-mini', { vcpus: 2 }],
    ['mmio-gen-mini-shadow', { vcpus: 2 }],
    // A shadow-page sync reading the generation a memslot create publishes and stores (sync_mmio_spte's re-stamp).
    ['mmio-sync-mini', {}],
  ] as const) {
    const shadow = name === 'mmio-gen-mini-shadow';
    const s = resize(loadScenario(shadow ? 'mmio-gen-mini' : name), size);
    if (shadow) s.settings.mmu = 'shadow';
    const settings = effectiveSettings(s);
    const found = auditFootprints((o) => createInstance(s, { settings, mutant: null, log: o.log, metrics: false }), {
      executions: 100,
      pairsPerExecution: 20,
    });
    assert.deepEqual(
      found.map((f) => `${name}: ${f.first} / ${f.second}: ${f.difference}`),
      [],
    );
  }
});

test('footprint audit and race profile: an execution that makes the model throw is said as a model bug with its schedule, not skipped (a probe: an audit whose every execution threw said "sound", exit 0)', () => {
  const factory = assertingCounter(2);
  assert.throws(
    () => auditFootprints(factory, { executions: 50, seed: 1 }),
    (e: unknown) => e instanceof ModelBug && e.message.includes(TOY_BUG) && /its schedule: [A-Za-z0-9_-]+\)$/.test(e.message),
  );
  assert.throws(
    () => profileRaces(factory, { maxExecutions: 100 }),
    (e: unknown) => e instanceof ModelBug && e.message.includes(TOY_BUG),
  );
});

test('footprint audit (seed 1): dirty logging, fast_page_fault and the TDP MMU in the shadow worlds commute wherever they say they do (dirty-log-mini under TDP, TDP without the fast path, shadow; fast-pf-mini; dirty-log-manual-mini; dirty-ring-mini under both MMUs; memslot-delete(-lockbreak)-mini under TDP)', async () => {
  const { createInstance, effectiveSettings } = await import('../../src/scenario/instantiate.js');
  const { loadScenario } = await import('../../src/scenario/load.js');
  // Each found a pair before its fix (these budgets found them): the TDP install's mark
  // of the bitmap announced no bitmap; the write-protect of the slot read which leaves
  // were present in the step that took mmu_lock; an IPI acknowledgement woke a kicker
  // waiting for another vCPU's (shadow, and fast-pf-mini once the others were fixed).
  for (const [name, set, executions] of [
    ['dirty-log-mini', {}, 1500],
    ['dirty-log-mini', { fastPageFault: 'off' }, 1500],
    ['dirty-log-mini', { mmu: 'shadow' }, 1500],
    ['fast-pf-mini', {}, 3000],
    // Manual protect: KVM_GET_DIRTY_LOG reads the bitmap under slots_lock alone (a shadow
    // fault's mark in the step that announced the shadow tables and the memslots).
    ['dirty-log-manual-mini', {}, 1500],
    ['dirty-log-manual-mini', { mmu: 'shadow' }, 1500],
    // The dirty ring: a vCPU's push, the VMM's collection and KVM_RESET_DIRTY_RINGS all
    // announce the rings; the entry step reads reset_index while the soft-full request is set.
    ['dirty-ring-mini', {}, 1500],
    ['dirty-ring-mini', { mmu: 'shadow' }, 1500],
    // Shadow worlds run under TDP: a fault's MMIO SPTE stamped with the memslots generation
    // in a step that announced the SPTE alone; an IPI acknowledgement woke every kicker.
    ['memslot-delete-lockbreak-mini', { mmu: 'tdp' }, 1000],
    ['memslot-delete-mini', { mmu: 'tdp' }, 1000],
  ] as const) {
    const s = loadScenario(name);
    Object.assign(s.settings, set);
    const settings = effectiveSettings(s);
    const found = auditFootprints((o) => createInstance(s, { settings, mutant: null, log: o.log, metrics: false }), { executions });
    assert.deepEqual(
      found.map((f) => `${name} ${JSON.stringify(set)}: ${f.first} / ${f.second}: ${f.difference}`),
      [],
    );
  }
});
