import { opPair, opShared, READ, SHARED, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { mmuInvalidateBegin, mmuInvalidateEnd, mmuInvalidateRangeAdd } from './invalidate.js';
import type { Kvm } from './kvm.js';
import { APIC_ACCESS_PAGE_PRIVATE_MEMSLOT } from './memslots.js';
import { KVM_REQ_APIC_PAGE_RELOAD } from './requests.js';
import { kvmFlushRemoteTlbs, kvmMakeAllCpusRequest } from './vcpu-requests.js';

/**
 * KVM's mmu_notifier callbacks: what the host's invalidate_range_start/_end do on
 * the KVM side.
 * @kernel virt/kvm/kvm_main.c
 */

/**
 * @kernel kvm_mmu_notifier_invalidate_range_start — when it returns, no SPTE and no
 * usable TLB entry maps a page of [hvaStart, hvaEnd) (hva pages), and no fault can
 * install one until _end: the host may then change or free the pages.
 */
export function* kvmMmuNotifierInvalidateRangeStart(kvm: Kvm, hvaStart: number, hvaEnd: number, kind: string): Task {
  kvm.emit({ e: 'invalidateRangeStart', kind, hvaStart, hvaEnd });
  // Race: the memslot updater waiting for this count to reach 0, and an end's
  // decrement and test (mn_invalidate_lock). Another start's increment reads
  // nothing back: two increments in either order leave the same count, so the
  // step is a SHARED update of the count, not a write.
  yield opShared(kvm.objMnActive);
  kvm.mnActiveInvalidateCount++;
  yield* handleHvaRange(kvm, hvaStart, hvaEnd, true);
  kvm.emit({ e: 'invalidateRangeStartDone', kind, hvaStart, hvaEnd });
}

/** @kernel kvm_mmu_notifier_invalidate_range_end */
export function* kvmMmuNotifierInvalidateRangeEnd(kvm: Kvm, hvaStart: number, hvaEnd: number, kind: string): Task {
  yield* handleHvaRange(kvm, hvaStart, hvaEnd, false);
  // Race: the memslot updater sleeping until no invalidation is between start
  // and end, and a start's increment (after it, this end does not reach zero).
  // Another end's decrement commutes with this one: the count after both is the
  // same, and whichever comes second wakes the updater. So the count is
  // announced as its starts' side (read: what a start adds decides whether we
  // reach zero) and its ends' side (a SHARED update, as starts update theirs).
  yield opPair(SHARED, kvm.objMnActiveEnds, READ, kvm.objMnActive);
  kvm.mnActiveInvalidateCount--;
  if (kvm.mnActiveInvalidateCount === 0) kvm.mnMemslotsUpdateWait.wakeAll();
  kvm.emit({ e: 'invalidateRangeEnd', kind, hvaStart, hvaEnd });
}

/**
 * @kernel __kvm_handle_hva_range — for start: take mmu_lock for write at the first
 * overlapping slot, begin, then per slot range_add + unmap, flush before unlocking.
 * For end: take the lock and end. No overlapping slot: nothing at all.
 */
function* handleHvaRange(kvm: Kvm, hvaStart: number, hvaEnd: number, start: boolean): Task {
  // Race: a memslot swap (the updater waits for us via mn_active_invalidate_count,
  // and its synchronize_srcu for this read section).
  yield opPair(SHARED, kvm.srcu.obj, READ, kvm.objMemslots);
  kvm.srcu.readLock();
  const ranges = kvm.memslots.overlapping(hvaStart, hvaEnd);
  if (ranges.length === 0) {
    kvm.srcu.readUnlock();
    return;
  }
  yield* kvm.mmuLock.writeLock();
  // Race: the lockless pre-check reading mmu_invalidate_in_progress and the range
  // (faults under mmu_lock cannot see these writes half-done, pre-checks can).
  // begin's count and range reset are one step here (two adjacent stores; a
  // pre-check between them would see the previous range and retry for nothing).
  yield start ? kvm.opInvalidateWrite : kvm.opInvalidateEnd;
  if (start) {
    mmuInvalidateBegin(kvm);
    let flush = false;
    for (const r of ranges) {
      // Race: the same pre-check, seeing the count with no range yet (the sentinel,
      // which the locked check WARNs on and the unsafe one must take as no match),
      // then the hull growing slot by slot.
      yield kvm.opInvalidateWrite;
      mmuInvalidateRangeAdd(kvm, r.gfnStart, r.gfnEnd);
      if (yield* kvmUnmapGfnRange(kvm, r.slot.id, r.gfnStart, r.gfnEnd)) flush = true;
    }
    // The flush happens before the lock is dropped and before start() returns: the
    // host may free the pages as soon as we return.
    if (flush && !kvm.mutation.acts('invalidate-skip-tlb-flush')) yield* kvmFlushRemoteTlbs(kvm, 'mmu_notifier');
  } else {
    mmuInvalidateEnd(kvm);
  }
  // Race: vCPUs queued on mmu_lock; the SRCU read section ends in the same step.
  yield opPair(WRITE, kvm.mmuLock.obj, SHARED, kvm.srcu.obj);
  kvm.mmuLock.writeUnlock();
  kvm.srcu.readUnlock();
}

/**
 * @kernel kvm_mmu_unmap_gfn_range + kvm_unmap_gfn_range — zap the leaf SPTEs of
 * [start, end) in every root (invalid ones too); for the APIC-access page's slot,
 * ask every vCPU to reload its address. Returns whether a flush is needed.
 */
function* kvmUnmapGfnRange(kvm: Kvm, slotId: number, start: number, end: number): Generator<number, boolean, void> {
  const flush = yield* kvm.mmu.unmapGfnRange(start, end, true);
  if (slotId === APIC_ACCESS_PAGE_PRIVATE_MEMSLOT && kvm.settings.apicAccessPage === 'retry') {
    yield* kvmMakeAllCpusRequest(kvm, KVM_REQ_APIC_PAGE_RELOAD);
  }
  return flush;
}

/**
 * The pre-v6.5 ->invalidate_range() hook, called by the host after it changed the
 * PTEs and before it frees the old pages: ask every vCPU to reload the APIC-access
 * page if it lies in the range.
 * @kernel kvm_arch_mmu_notifier_invalidate_range (removed in v6.5)
 */
export function* kvmArchMmuNotifierInvalidateRange(kvm: Kvm, hvaStart: number, hvaEnd: number): Task {
  if (kvm.settings.apicAccessPage !== 'invalidate-range') return;
  const slot = kvm.memslots.byId(APIC_ACCESS_PAGE_PRIVATE_MEMSLOT);
  if (slot === undefined) return;
  if (slot.hvaPage >= hvaStart && slot.hvaPage < hvaEnd) yield* kvmMakeAllCpusRequest(kvm, KVM_REQ_APIC_PAGE_RELOAD);
}
