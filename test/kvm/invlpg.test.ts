import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { KVM_REQ_TLB_FLUSH } from '../../src/kvm/requests.js';
import { kvmMmuInvlpg } from '../../src/kvm/shadow-invlpg.js';
import { tlbEntry } from '../../src/kvm/tlb-entry.js';
import { cr3Write, pagesOnWalk, runAlone, shadowVm } from './shadow-harness.js';

/** The INVLPG path's events, as lines. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'invlpg') this.lines.push(`invlpg gva ${ev.gva} tlb ${ev.tlbEntry}`);
    if (ev.e === 'invlpgSyncSpte') this.lines.push(`sync root ${ev.prev ? 'prev' : 'current'} sp ${ev.sp} ${ev.result} ${ev.flush}`);
    if (ev.e === 'remoteFlushBegin') this.lines.push(`flush ${ev.reason}`);
    if (ev.e === 'spteSet' && ev.newPfn < 0) this.lines.push(`drop gfn ${ev.gfn}`);
  }
}

/**
 * vCPU0 with two processes, gva 0 and gva 1 mapped in the first (A): the guest
 * writes A's level-1 table (its page goes unsync), clears the PTE of gva 0
 * (munmap), and switches CR3 to B, so that A's root is a cached previous root
 * whose unsync page still maps gva 0. Then vCPU0's INVLPG of gva 0.
 */
function invlpgInPrevRoot(mutant: string | null) {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 2, processes: 2, warm: 1, mutant });
  const v = kvm.vcpus[0]!;
  const other = kvm.vcpus[1]!;
  const g = mmu.guestCpu(v);
  const l1 = pagesOnWalk(mmu, v).at(-1)!;
  const rootA = v.root.root;
  g.kernel.ensureKernelTables(l1.gfn);
  runAlone(inst, function* () {
    assert.equal(yield* kvmMmuPageFault(v, 1, false), 'fixed');
    assert.equal(yield* kvmMmuPageFault(v, l1.gfn, true), 'fixed');
  });
  assert.equal(l1.unsync, true);
  assert.ok(l1.sptes.has(0) && l1.sptes.has(1));
  g.current.unmapped.add(0);
  g.pendingCr3 = g.processes[1]!.pgd;
  runAlone(inst, function* () {
    yield* cr3Write(mmu, v);
  });
  assert.ok(
    v.prevRoots.some((r) => r.root === rootA),
    'A is a cached root',
  );
  assert.equal(l1.unsync, true, 'the sync of B leaves A alone');
  // Both vCPUs' TLBs map gva 0 and 1.
  for (const x of [v, other]) for (const gva of [0, 1]) x.tlbFill(gva, tlbEntry(0x1000 + gva, true));
  const log = new Log();
  kvm.subscribe(log);
  runAlone(inst, function* () {
    yield* kvmMmuInvlpg(mmu, v, 0);
  });
  return { log: log.lines, v, other, l1, kvm };
}

test('kvm_mmu_invlpg: flushes only this vCPU TLB entry of the gva, syncs the one SPTE of the unsync page a cached previous root reaches (dropped: its PTE is clear), flushes remote TLBs before the unlock; the page stays unsync, its other SPTE stays', () => {
  const { log, v, other, l1, kvm } = invlpgInPrevRoot(null);
  assert.deepEqual(log, ['invlpg gva 0 tlb true', 'drop gfn 0', `sync root prev sp ${l1.id} dropped done`, 'flush kvm_mmu_invalidate_addr']);
  assert.equal(v.tlb.has(0), false);
  assert.equal(v.tlb.has(1), true, 'only the gva flushed from this vCPU');
  assert.equal(other.tlb.has(0), true, "the other vCPU's TLB is not touched by the INVLPG itself");
  assert.notEqual(other.requests & (1 << KVM_REQ_TLB_FLUSH), 0, 'the remote flush asks every vCPU to flush');
  assert.equal(l1.sptes.has(0), false);
  assert.equal(l1.sptes.has(1), true, 'one SPTE synced, not the page');
  assert.equal(l1.unsync, true);
  assert.equal(kvm.mutation.acted, 0);
});

test('mutant invlpg-no-remote-flush: the SPTE dropped, no remote flush; it acted once', () => {
  const { log, other, l1, kvm } = invlpgInPrevRoot('invlpg-no-remote-flush');
  assert.deepEqual(log, ['invlpg gva 0 tlb true', 'drop gfn 0', `sync root prev sp ${l1.id} dropped skipped`]);
  assert.equal(other.requests & (1 << KVM_REQ_TLB_FLUSH), 0);
  assert.equal(kvm.mutation.acted, 1);
});
