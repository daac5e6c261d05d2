import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enableAndCopy } from '../../src/kvm/dirty-log-migration.js';
import type { Kvm } from '../../src/kvm/kvm.js';
import { gfnToHva } from '../../src/kvm/memslots.js';
import { kvmMmuNotifierInvalidateRangeEnd, kvmMmuNotifierInvalidateRangeStart } from '../../src/kvm/mmu-notifier.js';
import { KVM_REQ_TLB_FLUSH } from '../../src/kvm/requests.js';
import { IN_GUEST_MODE } from '../../src/kvm/vcpu.js';
import { kvmMakeAllCpusRequest } from '../../src/kvm/vcpu-requests.js';
import { type Op, op2, opPair, opsConflict, opWrite, WRITE } from '../../src/runtime/op.js';
import { createInstance, effectiveSettings, type KvmInstance } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { runAlone } from './shadow-harness.js';

// The footprints steps announce, split as finely as the kernel's state is: two
// steps that touch different fields (or update one commutatively) must not be
// announced as conflicting, or the checker's reduction explores both orders.

/** A TDP VM of one vCPU and one memslot of 4 pages, nothing run yet. */
function tdpVm(mutant: string | null = null): { inst: KvmInstance; kvm: Kvm; hva: number } {
  const text = `
vm:
  vcpus: 1
  apicAccessPage: false
  memslots:
    - { id: 0, baseGfn: 0, pages: 4 }
workload: { gfnStart: 0, gfnCount: 4, accesses: 1 }
stop: { timeNs: 1000000 }
`;
  const s = parseScenario(text, 'footprints');
  const inst = createInstance(s, { settings: effectiveSettings(s, {}), mutant, log: false, metrics: false });
  return { inst, kvm: inst.kvm, hva: inst.kvm.memslots.byId(0)!.hvaPage };
}

/** Runs `body` alone and returns the ops of its steps that changed `watch()`. */
function opsChanging(inst: KvmInstance, body: () => Generator<Op, unknown, void>, watch: () => number): Op[] {
  const ops: Op[] = [];
  runAlone(inst, function* () {
    const g = body();
    for (let r = g.next(); !r.done; ) {
      const op = r.value;
      yield op;
      const before = watch();
      r = g.next();
      if (watch() !== before) ops.push(op);
    }
  });
  return ops;
}

/** The ops of an invalidate_range_start's and an invalidate_range_end's steps on mn_active_invalidate_count. */
function mnActiveOps(): { start: Op; end: Op } {
  const { inst, kvm, hva } = tdpVm();
  const count = () => kvm.mnActiveInvalidateCount;
  const [start] = opsChanging(inst, () => kvmMmuNotifierInvalidateRangeStart(kvm, hva, hva + 1, 'migrate'), count);
  const [end] = opsChanging(inst, () => kvmMmuNotifierInvalidateRangeEnd(kvm, hva, hva + 1, 'migrate'), count);
  assert.ok(start !== undefined && end !== undefined, 'no step changed mn_active_invalidate_count');
  return { start, end };
}

test('mn_active_invalidate_count: two invalidate_range_starts commute (increments under mn_invalidate_lock), a start and an end do not', () => {
  const { start, end } = mnActiveOps();
  assert.equal(opsConflict(start, start), false, 'two starts announced as conflicting');
  assert.equal(opsConflict(start, end), true);
  assert.equal(opsConflict(end, start), true);
});

test('mn_active_invalidate_count: two invalidate_range_ends commute (the count after both, and the one wake of the memslot updater, do not depend on their order)', () => {
  const { start, end } = mnActiveOps();
  assert.equal(opsConflict(end, end), false, 'two ends announced as conflicting');
  assert.equal(opsConflict(start, end), true, 'a start between two ends decides which reaches zero');
});

test("the VMM's copy of a page reads the page and writes only its own record: it commutes with a vCPU's mark of the dirty bitmap or push to its ring, not with a guest write to the page", () => {
  for (const mode of ['dirty-log-mini', 'dirty-ring-mini']) {
    const s = loadScenario(mode);
    const inst = createInstance(s, { settings: effectiveSettings(s, {}), mutant: null, log: false, metrics: false });
    const kvm = inst.kvm;
    const log = kvm.dirtyLog!;
    // The enable adds every page to what is to copy, each copy takes one off: the last such step is a copy.
    const steps = opsChanging(
      inst,
      () => enableAndCopy(kvm, log),
      () => log.toCopy.size,
    );
    assert.ok(steps.length > 1, mode);
    const copy = steps[steps.length - 1]!;
    const slot = kvm.memslots.gfnToMemslot(0)!;
    const gfn = slot.baseGfn + slot.npages - 1;
    const vcpu = kvm.vcpus[0]!;
    // fast_page_fault's mark, and a fault's make_spte that marks or pushes (tdp-mmu's install).
    assert.equal(opsConflict(copy, opWrite(log.obj)), false, `${mode}: the copy conflicts with a mark`);
    assert.equal(opsConflict(copy, op2(WRITE, kvm.mmu.spteObject(gfn), log.obj)), false, `${mode}: the copy conflicts with a push`);
    // A guest write through the TLB to the page copied last.
    assert.equal(opsConflict(copy, opPair(WRITE, vcpu.obj, WRITE, kvm.objHostPte(gfnToHva(slot, gfn)))), true, mode);
  }
});

test("a vCPU's request bits apart from its mode: a kicker's wait for the acknowledgement commutes with the vCPU's servicing of its requests, its request step does not", () => {
  const { kvm } = tdpVm();
  const vcpu = kvm.vcpus[0]!;
  // The vCPU at the top of vcpu_enter_guest: its first step services its requests.
  const service = vcpu.vcpuEnterGuest().next().value as Op;
  // A kicker's kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH), a WAIT request, to the vCPU in guest mode.
  vcpu.mode = IN_GUEST_MODE;
  const kicker = kvmMakeAllCpusRequest(kvm, KVM_REQ_TLB_FLUSH);
  const request = kicker.next().value as Op;
  const ackWait = kicker.next().value as Op;
  assert.equal(opsConflict(ackWait, service), false, 'the wait for the acknowledgement conflicts with the servicing');
  assert.equal(opsConflict(request, service), true);
  assert.equal(opsConflict(request, ackWait), true);
});

test("a vCPU's VM-entry announces its request bits, not its mode: it commutes with a kicker's wait for an acknowledgement, not with a kicker's request step or request-mode-read-early's read of the mode", () => {
  const { inst, kvm } = tdpVm();
  const vcpu = kvm.vcpus[0]!;
  // The entry is the step that stores IN_GUEST_MODE (the guest's access then faults and leaves it).
  // vcpu_run holds kvm->srcu around vcpu_enter_guest.
  const run = function* () {
    kvm.srcu.readLock();
    return yield* vcpu.vcpuEnterGuest();
  };
  const [entry] = opsChanging(inst, run, () => vcpu.mode);
  assert.ok(entry !== undefined, 'no step changed the mode');
  vcpu.mode = IN_GUEST_MODE;
  const kicker = kvmMakeAllCpusRequest(kvm, KVM_REQ_TLB_FLUSH);
  const request = kicker.next().value as Op;
  const ackWait = kicker.next().value as Op;
  assert.equal(opsConflict(entry, ackWait), false, 'the entry conflicts with the wait for the acknowledgement');
  assert.equal(opsConflict(entry, request), true);
  const early = tdpVm('request-mode-read-early').kvm;
  early.vcpus[0]!.mode = IN_GUEST_MODE;
  const modeRead = kvmMakeAllCpusRequest(early, KVM_REQ_TLB_FLUSH).next().value as Op;
  assert.equal(opsConflict(entry, modeRead), true, "the entry does not conflict with the mutant's read of the mode");
});
