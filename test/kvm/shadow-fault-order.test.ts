import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import { KVM_MEMSLOT_INVALID } from '../../src/kvm/memslots.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { runAlone, shadowVm } from './shadow-harness.js';

// Regression (the model's order was not the kernel's): FNAME(page_fault) walks the
// guest's tables first (FNAME(walk_addr)) and, for a PTE not present, injects the
// #PF and returns RET_PF_RETRY before it looks at the memslot, page tracking or
// kvm_faultin_pfn. The model walked only under mmu_lock, after kvm_faultin_pfn:
// an unmapped page whose gfn was in a memslot being deleted retried on the
// invalid slot, one in no memslot was emulated, and the seq snapshot, pre-check
// and GUP ran for a page the guest does not map.

/** The fault-path events of one fault, by kind. */
class FaultEvents implements Sink {
  readonly seen: string[] = [];
  on(ev: KvmEvent, _at: EventStamp): void {
    if (ev.e === 'faultBegin' || ev.e === 'seqSnapshot' || ev.e === 'precheck' || ev.e === 'gup' || ev.e === 'staleCheck' || ev.e === 'faultEnd')
      this.seen.push(ev.e);
  }
}

/** A one-vCPU shadow VM whose process has user page `gva` mapped in its tables, its PTE then cleared (munmap). */
function unmappedVm(gva: number) {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, warm: 1 });
  const v = kvm.vcpus[0]!;
  const g = mmu.guestCpu(v);
  g.prefault(gva);
  g.current.unmapped.add(gva);
  const rec = new FaultEvents();
  kvm.subscribe(rec);
  return { inst, kvm, mmu, v, g, rec };
}

test('FNAME(page_fault): a touch of a page the guest unmapped, its gfn in a memslot being deleted, injects the #PF (RET_PF_RETRY) before any memslot check, seq snapshot, pre-check or GUP (it was retried on the invalid slot)', () => {
  const { inst, kvm, v, g, rec } = unmappedVm(5);
  kvm.memslots = kvm.memslots.with(kvm.memslots.slots.map((s) => (s.id === 0 ? { ...s, flags: s.flags | KVM_MEMSLOT_INVALID } : s)));
  let ret = '';
  runAlone(inst, function* () {
    ret = yield* kvmMmuPageFault(v, 5, true);
  });
  assert.equal(ret, 'inject-pf');
  assert.deepEqual(rec.seen, ['faultBegin', 'faultEnd'], 'no seq snapshot, pre-check or GUP');
  assert.equal(v.queuedPfErrorCode, 0x6, 'a user write to a PTE not present: W|U');
  assert.equal(g.current.unmapped.has(5), true, "the guest's #PF handler sets the PTE again, later");
});

test('FNAME(page_fault): a touch of a page the guest unmapped whose gfn is in no memslot injects the #PF (it was emulated as MMIO)', () => {
  const gva = 70_000;
  const { inst, kvm, v, rec } = unmappedVm(gva);
  assert.equal(kvm.memslots.gfnToMemslot(gva), undefined);
  let ret = '';
  runAlone(inst, function* () {
    ret = yield* kvmMmuPageFault(v, gva, false);
  });
  assert.equal(ret, 'inject-pf');
  assert.deepEqual(rec.seen, ['faultBegin', 'faultEnd']);
  assert.equal(v.queuedPfErrorCode, 0x4, 'a user read: U only');
});

test('FNAME(fetch): a guest PTE cleared between the lockless walk and mmu_lock (another thread of the process unmapped the page) sends the fault back, RET_PF_RETRY with no #PF (FNAME(gpte_changed)); the fault again injects it', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 2, warm: 1, sharedProcesses: true });
  const v = kvm.vcpus[0]!;
  const g = mmu.guestCpu(v);
  g.prefault(1);
  const rec = new FaultEvents();
  kvm.subscribe(rec);
  let ret = '';
  const t = inst.rt.spawn('fault', function* () {
    ret = yield* kvmMmuPageFault(v, 1, false);
  });
  // Up to the seq snapshot: the walk found the PTE present.
  while (!rec.seen.includes('seqSnapshot')) inst.rt.runStep(t);
  g.current.unmapped.add(1);
  while (t.state === 'runnable') inst.rt.runStep(t);
  assert.equal(t.state, 'done');
  assert.equal(ret, 'retry-gpte-changed');
  assert.equal(v.queuedPfErrorCode, -1, 'no #PF injected');
  assert.equal(mmu.walk(v, 1), -1, 'no SPTE installed');
  runAlone(inst, function* () {
    ret = yield* kvmMmuPageFault(v, 1, false);
  });
  assert.equal(ret, 'inject-pf');
});
