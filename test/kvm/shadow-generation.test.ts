import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvmSetMemoryRegion } from '../../src/kvm/memslot-update.js';
import { Memslots } from '../../src/kvm/memslots.js';
import { MMIO_SPTE_GEN_BITS } from '../../src/kvm/mmio-spte.js';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_MMU_RELOAD } from '../../src/kvm/requests.js';
import { isObsoleteSp, ROOT_LEVEL } from '../../src/kvm/shadow-page.js';
import { isObsoleteRoot, isRootUsable } from '../../src/kvm/shadow-roots.js';
import { kvmZapObsoletePages } from '../../src/kvm/zap-all.js';
import { kvmMmuZapAllFast } from '../../src/kvm/zap-all-fast.js';
import { runAlone, shadowVm, underMmuLock, underSlotsLock } from './shadow-harness.js';

const bit = (req: number) => 1 << req;

test('generation: new pages carry mmu_valid_gen; toggling it makes every existing page obsolete, and lookups then make fresh ones', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 4 });
  assert.ok(mmu.active.count > 0);
  for (let sp = mmu.active.head; sp; sp = sp.older) assert.equal(isObsoleteSp(kvm, sp), false);
  const root = mmu.sps[kvm.vcpus[0]!.root.root]!;
  kvm.mmuValidGen ^= 1;
  for (let sp = mmu.active.head; sp; sp = sp.older) assert.equal(isObsoleteSp(kvm, sp), true);
  let fresh = root;
  underMmuLock(inst, function* () {
    fresh = yield* mmu.getShadowPage(root.gfn, ROOT_LEVEL, kvm.vcpus[0]!);
  });
  assert.notEqual(fresh, root, 'an obsolete page is never found again');
  assert.equal(fresh.mmuValidGen, kvm.mmuValidGen);
  assert.equal(mmu.active.head, fresh, 'new pages go to the head of active_mmu_pages');
});

test('generation: role.invalid makes a page obsolete in any generation', () => {
  const { kvm, mmu } = shadowVm({ warm: 1 });
  const sp = mmu.active.tail!;
  assert.equal(isObsoleteSp(kvm, sp), false);
  sp.invalid = true;
  assert.equal(isObsoleteSp(kvm, sp), true);
});

test('fast zap: toggles the generation, asks every vCPU to free obsolete roots, zaps the old pages, keeps the roots in use (invalid) until dropped', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 8 });
  const before = mmu.active.count;
  const roots = kvm.vcpus.map((v) => mmu.sps[v.root.root]!);
  underSlotsLock(inst, () => kvmMmuZapAllFast(mmu.kvm));
  assert.equal(kvm.mmuValidGen, 1);
  assert.equal(mmu.active.count, 0, `all ${before} pages were obsolete`);
  for (const v of kvm.vcpus) assert.ok(v.requests & bit(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS));
  for (const r of roots) {
    assert.equal(r.invalid, true);
    assert.equal(r.freed, false, 'a root in use stays until its last reference goes');
    assert.equal(isObsoleteRoot(mmu, r.id), true);
  }
  assert.equal(mmu.liveCount, roots.length);
  assert.deepEqual(mmu.checkAccounting(), []);
  for (const v of kvm.vcpus) runAlone(inst, () => mmu.freeObsoleteRoots(v));
  assert.equal(mmu.liveCount, 0);
  assert.ok(roots.every((r) => r.freed));
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('fast zap with rootZap=reload-all asks for KVM_REQ_MMU_RELOAD instead', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 2, settings: { rootZap: 'reload-all' } });
  underSlotsLock(inst, () => kvmMmuZapAllFast(mmu.kvm));
  for (const v of kvm.vcpus) assert.ok(v.requests & bit(KVM_REQ_MMU_RELOAD));
});

test('kvm_zap_obsolete_pages walks from the tail and stops at the first page of the new generation', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 6 });
  const old = [];
  for (let sp = mmu.active.head; sp; sp = sp.older) if (sp.rootCount === 0) old.push(sp);
  kvm.mmuValidGen ^= 1;
  // A vCPU adds pages after the toggle (as during a lock break): they are at the head.
  underMmuLock(inst, function* () {
    yield* mmu.getShadowPage(0x8000000 + 900, 1, kvm.vcpus[0]!);
    yield* mmu.getShadowPage(0x8000000 + 901, 1, kvm.vcpus[0]!);
  });
  const fresh = [mmu.active.head!, mmu.active.head!.older!];
  underMmuLock(inst, () => kvmZapObsoletePages(mmu));
  assert.ok(old.every((sp) => sp.freed));
  assert.ok(fresh.every((sp) => !sp.freed && sp.onActiveList));
  assert.equal(mmu.active.count, 2);
});

test('mutant zap-fast-no-generation-bump: nothing is obsolete, so the fast zap zaps nothing', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 4, mutant: 'zap-fast-no-generation-bump' });
  const before = mmu.active.count;
  underSlotsLock(inst, () => kvmMmuZapAllFast(mmu.kvm));
  assert.equal(kvm.mmuValidGen, 0);
  assert.equal(mmu.active.count, before);
});

test('is_root_usable: a root obsolete only by generation is reusable (a request will free it); an invalid one never is', () => {
  const { kvm, mmu } = shadowVm({ warm: 1 });
  const v = kvm.vcpus[0]!;
  assert.equal(isRootUsable(mmu, v.root, v.cr3), true);
  assert.equal(isRootUsable(mmu, v.root, v.cr3 + 1), false, 'another pgd');
  kvm.mmuValidGen ^= 1;
  assert.equal(isRootUsable(mmu, v.root, v.cr3), true);
  mmu.sps[v.root.root]!.invalid = true;
  assert.equal(isRootUsable(mmu, v.root, v.cr3), false);
});

test('one invalid generation at most: after two fast zaps no valid page is of a generation other than the current one', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 4 });
  underSlotsLock(inst, () => kvmMmuZapAllFast(mmu.kvm));
  for (const v of kvm.vcpus) runAlone(inst, () => mmu.freeObsoleteRoots(v));
  for (const v of kvm.vcpus) runAlone(inst, () => mmu.reloadRoot(v));
  underSlotsLock(inst, () => kvmMmuZapAllFast(mmu.kvm));
  assert.equal(kvm.mmuValidGen, 0);
  for (let sp = mmu.active.head; sp; sp = sp.older) assert.equal(sp.mmuValidGen, kvm.mmuValidGen);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('MMIO generation wraparound: a memslot update whose generation wraps the 19 MMIO bits forces a fast zap', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 2 });
  const zaps: string[] = [];
  kvm.subscribe({ on: (ev) => (ev.e === 'zapAllBegin' ? zaps.push(ev.how) : undefined) });
  // MMIO_SPTE_GEN_MASK - 1: the first create's generation is the mask, the second's wraps to 0.
  kvm.memslots = new Memslots(kvm.memslots.slots, 2 ** MMIO_SPTE_GEN_BITS - 2);
  runAlone(inst, () => kvmSetMemoryRegion(kvm, { op: 'create', slot: 5, baseGfn: 0x100000, pages: 16, hvaPage: 0x9000000 }));
  assert.deepEqual(zaps, [], 'generation 0x7ffff: no wrap yet');
  runAlone(inst, () => kvmSetMemoryRegion(kvm, { op: 'create', slot: 6, baseGfn: 0x200000, pages: 16, hvaPage: 0x9100000 }));
  assert.deepEqual(zaps, ['kvm_mmu_zap_all_fast']);
  assert.equal(kvm.mmuValidGen, 1);
  assert.equal(mmu.active.count, 0);
});
