import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { mmuInvalidateBegin, mmuInvalidateRangeAdd } from '../../src/kvm/invalidate.js';
import { slotArchKey } from '../../src/kvm/lpage-info.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { WRITE_FLOODING_THRESHOLD } from '../../src/kvm/shadow-page.js';
import { kvmMmuTrackWrite } from '../../src/kvm/shadow-write-track.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { runAlone, shadowVm, underMmuLock } from './shadow-harness.js';

test('account_shadowed: a shadowed guest table is write-tracked and disallows huge pages over it; unaccount reverses it', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, warm: 1 });
  const root = mmu.sps[kvm.vcpus[0]!.root.root]!;
  const slot = kvm.memslots.gfnToMemslot(root.gfn)!;
  const arch = mmu.slotArch(slot);
  assert.equal(root.accountedSlot, slotArchKey(slot));
  assert.equal(mmu.isWriteTracked(root.gfn), true);
  assert.equal(arch.writeTrack.get(root.gfn), 1);
  const frame2m = Math.floor(root.gfn / 512);
  const before = arch.disallowLpage[0].get(frame2m)!;
  assert.ok(before >= 1);
  underMmuLock(inst, function* () {
    for (let i = 0; i < WRITE_FLOODING_THRESHOLD; i++) yield* kvmMmuTrackWrite(mmu, root.gfn, 7);
  });
  assert.equal(root.invalid, true);
  assert.equal(mmu.isWriteTracked(root.gfn), false);
  assert.equal(arch.disallowLpage[0].get(frame2m) ?? 0, before - 1);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('kvm_mmu_track_write: a write zaps only the SPTE it covers; the third in a row floods and zaps the page; a fault through the page resets the count', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, warm: 3 });
  const v = kvm.vcpus[0]!;
  const root = mmu.sps[v.root.root]!;
  const l3 = mmu.sps[root.sptes.get(0)!]!;
  assert.equal(l3.level, 3);
  assert.ok(l3.sptes.has(0));
  underMmuLock(inst, () => kvmMmuTrackWrite(mmu, l3.gfn, 0));
  assert.equal(l3.sptes.has(0), false, 'the written entry is zapped');
  assert.equal(l3.invalid, false);
  // A fault walks through the L3 page again: the guest still uses it as a table.
  runAlone(inst, function* () {
    v.nextWrite = false;
    // The lower pages survived the zap of the link: relinking finds the leaf already there.
    const ret = yield* kvmMmuPageFault(v, 0, false);
    assert.equal(ret, 'spurious');
  });
  assert.ok(l3.sptes.has(0), 'relinked');
  assert.equal(l3.writeFloodingCount, 0);
  underMmuLock(inst, function* () {
    yield* kvmMmuTrackWrite(mmu, l3.gfn, 5);
    yield* kvmMmuTrackWrite(mmu, l3.gfn, 6);
  });
  assert.equal(l3.invalid, false);
  underMmuLock(inst, () => kvmMmuTrackWrite(mmu, l3.gfn, 7));
  assert.equal(l3.invalid, true, 'flooded');
  assert.equal(l3.freed, true, 'no root held it');
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('write-protect: a write to a shadowed table is emulated even while an invalidation covering it is in progress (page_fault_handle_page_track comes before the pfn lookup and its retry checks; it was retried)', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, warm: 1 });
  const v = kvm.vcpus[0]!;
  const pgd = v.cr3;
  // The guest kernel's tables for its write through the direct map (FNAME(page_fault) walks them first).
  mmu.guestCpu(v).kernel.ensureKernelTables(pgd);
  runAlone(inst, function* () {
    yield* kvm.mmuLock.writeLock();
    mmuInvalidateBegin(kvm);
    mmuInvalidateRangeAdd(kvm, pgd, pgd + 1);
    yield* kvm.mmuLock.writeUnlockY();
  });
  runAlone(inst, function* () {
    assert.equal(yield* kvmMmuPageFault(v, pgd, true), 'emulate');
  });
});

test('write-protect: a shadowed table is mapped read-only; a write to it exits and is emulated; reads go through', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, warm: 1 });
  const v = kvm.vcpus[0]!;
  const pgd = v.cr3;
  mmu.guestCpu(v).kernel.ensureKernelTables(pgd);
  runAlone(inst, function* () {
    assert.equal(yield* kvmMmuPageFault(v, pgd, false), 'fixed');
  });
  assert.ok(mmu.walk(v, pgd, false) >= 0, 'read through the read-only leaf');
  assert.equal(mmu.walk(v, pgd, true), -1, 'a write faults');
  const root = mmu.sps[v.root.root]!;
  runAlone(inst, function* () {
    assert.equal(yield* kvmMmuPageFault(v, pgd, true), 'emulate');
  });
  assert.equal(root.writeFloodingCount, 1);
});

test('write-protect exits in a run: root-zap-mini (seed 1) emulates guest writes to page tables and zaps roots in use, with no violation', () => {
  class Count implements Sink {
    emulated = 0;
    cr3Exits = 0;
    rootZaps = 0;
    on(ev: KvmEvent): void {
      if (ev.e === 'faultEnd' && ev.ret === 'emulate') this.emulated++;
      if (ev.e === 'vmExit' && ev.reason === 'cr3') this.cr3Exits++;
      if (ev.e === 'spZap' && ev.root) this.rootZaps++;
    }
  }
  const s = loadScenario('root-zap-mini');
  const c = new Count();
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1, sinks: [c] });
  assert.deepEqual(r.violations, []);
  assert.ok(c.emulated >= 3, `emulated writes: ${c.emulated}`);
  assert.ok(c.cr3Exits >= 2, `CR3 exits: ${c.cr3Exits}`);
  assert.ok(c.rootZaps >= 1);
  assert.equal(r.metrics.roots.zappedInUse, c.rootZaps);
});

test("shadow_page_table_clear_flood: writes to the loaded PGD never flood its root (each write fault first resets the counts on the vCPU's walk), as exit_mmap's do in the kernel; writes from elsewhere flood it on the third (a probe: the running process's exit zapped its current root)", () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, warm: 1 });
  const v = kvm.vcpus[0]!;
  const pgd = v.cr3;
  const root = mmu.sps[v.root.root]!;
  mmu.guestCpu(v).kernel.ensureKernelTables(pgd);
  for (let i = 0; i < 2 * WRITE_FLOODING_THRESHOLD; i++) {
    runAlone(inst, function* () {
      assert.equal(yield* kvmMmuPageFault(v, pgd, true), 'emulate');
    });
    assert.equal(root.writeFloodingCount, 1, `write ${i + 1}`);
  }
  assert.equal(root.invalid, false, 'the loaded root survives');
  // Written from elsewhere (kvm_mmu_track_write alone, no fault of this vCPU's walk), it floods on the third.
  underMmuLock(inst, function* () {
    for (let i = 1; i < WRITE_FLOODING_THRESHOLD; i++) yield* kvmMmuTrackWrite(mmu, pgd, i);
  });
  assert.equal(root.invalid, true);
});
