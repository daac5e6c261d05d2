import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import type { ShadowMmu } from '../../src/kvm/shadow-mmu.js';
import { ROOT_LEVEL, type ShadowPage, spteIndex } from '../../src/kvm/shadow-page.js';
import type { Vcpu } from '../../src/kvm/vcpu.js';
import type { KvmInstance } from '../../src/scenario/instantiate.js';
import { cr3Write, runAlone, shadowVm } from './shadow-harness.js';

/** The level-1 shadow page on vCPU `v`'s walk of gva 0. */
function l1OnWalk(mmu: ShadowMmu, v: Vcpu): ShadowPage {
  let sp = mmu.sps[v.root.root]!;
  for (let level = ROOT_LEVEL; level > 1; level--) sp = mmu.sps[sp.sptes.get(spteIndex(0, level))!]!;
  return sp;
}

/** Event lines in order: flushes, dropped SPTEs, lock breaks. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'remoteFlushBegin') this.lines.push(`flush ${ev.reason}`);
    if (ev.e === 'spteSet' && ev.newPfn < 0) this.lines.push(`drop gfn ${ev.gfn}`);
    if (ev.e === 'lockBreak') this.lines.push(`break ${ev.holder}`);
  }
}

/**
 * One vCPU, two processes, gva 0 mapped: the guest writes its level-1 table
 * (the page goes unsync), clears the PTE of gva 0 (munmap), and switches CR3
 * away and back, so that the sync drops the SPTE of gva 0; with a time slice of
 * 0, mmu_sync_children breaks the lock after the page.
 */
function syncWithLockBreak(mutant: string | null): { log: string[]; inst: KvmInstance; mmu: ShadowMmu; l1: ShadowPage } {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, processes: 2, warm: 1, mutant });
  const v = kvm.vcpus[0]!;
  const l1 = l1OnWalk(mmu, v);
  const g = mmu.guestCpu(v);
  g.kernel.ensureKernelTables(l1.gfn);
  runAlone(inst, function* () {
    assert.equal(yield* kvmMmuPageFault(v, l1.gfn, true), 'fixed');
  });
  assert.equal(l1.unsync, true);
  g.current.unmapped.add(0);
  const [a, b] = g.processes.map((p) => p.pgd) as [number, number];
  const load = (pgd: number) => {
    g.pendingCr3 = pgd;
    runAlone(inst, function* () {
      yield* cr3Write(mmu, v);
    });
  };
  load(b);
  const log = new Log();
  kvm.subscribe(log);
  kvm.mmuLock.timesliceNs = 0;
  load(a);
  return { log: log.lines, inst, mmu, l1 };
}

test('mmu_sync_children breaks mmu_lock when the slice is used up, after the flush: write-protect and flush, drop the SPTE, flush it, then the break (kvm_mmu_remote_flush_or_zap before cond_resched_rwlock_write); the walk after the break finds nothing left', () => {
  const { log, mmu, l1 } = syncWithLockBreak(null);
  assert.deepEqual(log, ['flush kvm_mmu_remote_flush_or_zap', 'drop gfn 0', 'flush kvm_mmu_remote_flush_or_zap', 'break mmu_sync_children']);
  assert.equal(l1.unsync, false);
  assert.equal(mmu.unsyncPages.size, 0);
  assert.equal(l1.sptes.has(0), false, 'the SPTE of the unmapped gva is gone');
});

test('mutant sync-children-yield-without-flush: the break comes with the dropped SPTE still unflushed, and the flush only at the end', () => {
  const { log, inst } = syncWithLockBreak('sync-children-yield-without-flush');
  assert.deepEqual(log, ['flush kvm_mmu_remote_flush_or_zap', 'drop gfn 0', 'break mmu_sync_children', 'flush kvm_mmu_remote_flush_or_zap']);
  assert.ok(inst.kvm.mutation.acted > 0);
});

test('a batch is at most KVM_PAGE_ARRAY_NR entries, counting the pages above the unsync ones, and each walk starts again from the root', async () => {
  const { mmuUnsyncWalk, KVM_PAGE_ARRAY_NR } = await import('../../src/kvm/shadow-unsync.js');
  const { mmu, kvm } = shadowVm({ vcpus: 1, processes: 1, warm: 1 });
  const root = mmu.sps[kvm.vcpus[0]!.root.root]!;
  const l1 = l1OnWalk(mmu, kvm.vcpus[0]!);
  mmu.unsyncPages.add(l1);
  // Root, level 3, level 2 and the page: one unsync page fits.
  assert.deepEqual(mmuUnsyncWalk(mmu, root), [l1]);
  assert.equal(KVM_PAGE_ARRAY_NR, 16);
  mmu.unsyncPages.delete(l1);
  assert.deepEqual(mmuUnsyncWalk(mmu, root), []);
});
