import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kvm } from '../../src/kvm/kvm.js';
import type { ShadowPage } from '../../src/kvm/shadow-page.js';
import { kvmMmuCommitZapPage, kvmMmuPrepareZapPage } from '../../src/kvm/shadow-zap.js';
import type { Violation } from '../../src/runtime/instance.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { runAlone, shadowVm, underMmuLock } from './shadow-harness.js';

/** What the oracle says when vCPU `id` enters the guest now. */
function enter(kvm: Kvm, id: number): void {
  kvm.emit({ e: 'vmEntry', vcpu: id, root: kvm.vcpus[id]!.root.root, apicPfn: -1 });
}

test('oracle: a vCPU entering on a root zapped while in use (invalid) is an obsolete-root violation', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 1, mutant: 'zap-root-no-request' });
  underMmuLock(inst, function* () {
    yield* kvmMmuPrepareZapPage(mmu, mmu.sps[kvm.vcpus[0]!.root.root]!, []);
  });
  enter(kvm, 1);
  assert.deepEqual(inst.violations, [] as Violation[], 'vCPU1 is on its own root');
  enter(kvm, 0);
  assert.equal(inst.violations.length, 1);
  assert.equal(inst.violations[0]!.kind, 'obsolete-root');
  assert.match(inst.violations[0]!.message, /vCPU0 entered the guest on a bad root: root sp \d+ .* is invalid/);
});

test('oracle: a vCPU entering on a root of an old mmu_valid_gen is an obsolete-root violation', () => {
  const { inst, kvm } = shadowVm({ warm: 1 });
  kvm.mmuValidGen ^= 1;
  enter(kvm, 0);
  assert.equal(inst.violations[0]?.kind, 'obsolete-root');
  assert.match(inst.violations[0]!.message, /obsolete: made in mmu_valid_gen 0, now 1/);
});

test('oracle: a vCPU entering on a freed root is an obsolete-root violation', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 1 });
  const v = kvm.vcpus[0]!;
  const id = v.root.root;
  underMmuLock(inst, function* () {
    const list: ShadowPage[] = [];
    yield* kvmMmuPrepareZapPage(mmu, mmu.sps[id]!, list);
    yield* kvmMmuCommitZapPage(mmu, list);
  });
  runAlone(inst, () => mmu.freeObsoleteRoots(v));
  assert.equal(mmu.sps[id]!.freed, true);
  assert.deepEqual(inst.violations, [] as Violation[]);
  v.root.root = id; // a vCPU that kept a stale pointer to it
  enter(kvm, 0);
  assert.equal(inst.violations[0]?.kind, 'obsolete-root');
  assert.match(inst.violations[0]!.message, /was freed/);
});

for (const seed of [1, 2]) {
  test(`oracle: root-zap-mini with mutant zap-root-no-request, seed ${seed}: the vCPU re-enters with the root it still caches zapped (the exited process's PGD, flooded by its reuse)`, () => {
    const s = loadScenario('root-zap-mini');
    const r = simulate(s, { settings: effectiveSettings(s), mutant: 'zap-root-no-request', seed });
    assert.equal(r.violations[0]?.kind, 'obsolete-root');
    assert.match(
      r.violations[0]!.message,
      /entered the guest with a bad root cached: previous root sp \d+ \(CR3 0x[0-9a-f]+\) is invalid, still cached with no request to free it pending: its reference keeps the zapped page from being freed$/,
    );
  });
}

test('oracle: a wrong lpage_info count is an accounting violation', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 2 });
  assert.deepEqual(mmu.checkAccounting(), []);
  const root = mmu.sps[kvm.vcpus[0]!.root.root]!;
  const arch = mmu.slotArchByKey(root.accountedSlot)!;
  const frame = Math.floor(root.gfn / 512);
  arch.disallowLpage[0].set(frame, arch.disallowLpage[0].get(frame)! + 1);
  const problems = mmu.checkAccounting();
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /memslot 1: lpage_info\[2M\] of gfn 0x[0-9a-f]+ disallow_lpage \d+, but a recount gives \d+/);
  kvm.emit({ e: 'memslotChange', op: 'delete', slot: 9, phase: 'done' });
  assert.equal(inst.violations[0]?.kind, 'accounting');
});

test('oracle: a wrong write-track count is an accounting violation', () => {
  const { mmu, kvm } = shadowVm({ warm: 2 });
  const root = mmu.sps[kvm.vcpus[1]!.root.root]!;
  mmu.slotArchByKey(root.accountedSlot)!.updateWriteTrack(root.gfn, -1);
  assert.match(mmu.checkAccounting().join('\n'), /write-track count 0, but 1 valid page\(s\) above level 1 shadow it/);
});

test('oracle: a wrong root_count or n_used_mmu_pages is an accounting violation', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 1 });
  const sp = mmu.sps[kvm.vcpus[0]!.root.root]!;
  sp.rootCount++;
  assert.match(mmu.checkAccounting().join('\n'), /root_count 2, but 1 vCPU root slot\(s\) hold it/);
  sp.rootCount--;
  kvm.emit({ e: 'rootPut', vcpu: 0, root: sp.id, count: 1 });
  assert.deepEqual(inst.violations, [] as Violation[]);
  mmu.nUsedMmuPages++;
  kvm.emit({ e: 'rootPut', vcpu: 0, root: sp.id, count: 1 });
  assert.equal(inst.violations[0]?.kind, 'accounting');
  assert.match(inst.violations[0]!.message, /n_used_mmu_pages/);
});
