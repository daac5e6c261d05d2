import { opPair, opShared, READ, SHARED, WRITE } from '../runtime/op.js';
import type { Kvm } from './kvm.js';

/**
 * Page aging through the mmu_notifier: the host asks whether a page was
 * referenced (folio_referenced → clear_flush_young) and KVM answers from its
 * leaves' Accessed bits, clearing them (kvm_age_gfn). No begin/end: the
 * invalidation counters and mmu_invalidate_seq stay as they are.
 * @kernel virt/kvm/kvm_main.c kvm_mmu_notifier_clear_flush_young; arch/x86/kvm/mmu/mmu.c kvm_age_gfn
 */

/**
 * @kernel kvm_mmu_notifier_clear_flush_young — whether a leaf of [hvaStart,
 * hvaEnd) was young, its A bit cleared. x86 selects
 * CONFIG_KVM_ELIDE_TLB_FLUSH_IF_YOUNG, so flush_on_ret is false: no TLB flush.
 * A TLB entry left in place serves the guest without a walk, so the A bit stays
 * clear while the page is in use through it and the page may look old; safety
 * does not rest on it (a reclaim of an old page invalidates: zap, then flush).
 * Before the series that made x86 elide it, a young answer flushed.
 * clear_young is the same walk, never flushing on any arch; test_young
 * (kvm_test_age_gfn) the same without the clear: neither is driven here.
 */
export function* kvmMmuNotifierClearFlushYoung(kvm: Kvm, hvaStart: number, hvaEnd: number): Generator<number, boolean, void> {
  kvm.emit({ e: 'ageHva', hvaStart, hvaEnd });
  // Race: a memslot swap (its synchronize_srcu waits for this read section).
  yield opPair(SHARED, kvm.srcu.obj, READ, kvm.objMemslots);
  kvm.srcu.readLock();
  const ranges = kvm.memslots.overlapping(hvaStart, hvaEnd);
  if (ranges.length === 0) {
    kvm.srcu.readUnlock();
    return false;
  }
  // __kvm_handle_hva_range: range->lockless (CONFIG_KVM_MMU_LOCKLESS_AGING) takes no mmu_lock at all.
  const lockless = kvm.settings.mmuAging === 'lockless';
  if (!lockless) yield* kvm.mmuLock.writeLock();
  let young = false;
  for (const r of ranges) if (yield* kvmAgeGfn(kvm, r.gfnStart, r.gfnEnd, lockless)) young = true;
  if (!lockless) {
    // Race: vCPUs queued on mmu_lock; the SRCU read section ends in the same step.
    yield opPair(WRITE, kvm.mmuLock.obj, SHARED, kvm.srcu.obj);
    kvm.mmuLock.writeUnlock();
  } else {
    // Race: a memslot swap's synchronize_srcu, waiting for this read section to end.
    yield opShared(kvm.srcu.obj);
  }
  kvm.srcu.readUnlock();
  return young;
}

/**
 * @kernel mmu.c kvm_age_gfn — the TDP MMU's leaves first (when the TDP MMU is
 * enabled), then the shadow MMU's rmaps (when kvm_may_have_shadow_mmu_sptes).
 * `lockless` (mmuAging=lockless, v6.15 on): neither takes mmu_lock, the TDP walk
 * runs under RCU, the rmap walk under each rmap's own lock; else the caller holds
 * mmu_lock for write around both. The model has one MMU per world: the backend
 * does its part.
 */
function* kvmAgeGfn(kvm: Kvm, start: number, end: number, lockless: boolean): Generator<number, boolean, void> {
  return yield* kvm.mmu.ageGfnRange(start, end, lockless);
}
