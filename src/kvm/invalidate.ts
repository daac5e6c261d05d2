import { ModelBug } from '../runtime/model-bug.js';
import { INVALID_GPA, type Kvm } from './kvm.js';

/**
 * mmu_notifier invalidation accounting and the retry predicates.
 * @kernel virt/kvm/kvm_main.c, include/linux/kvm_host.h
 */

/** @kernel kvm_mmu_invalidate_begin — under mmu_lock (write). */
export function mmuInvalidateBegin(kvm: Kvm): void {
  kvm.mmuLock.assertWriteHeld('kvm_mmu_invalidate_begin');
  kvm.mmuInvalidateInProgress++;
  // The first of overlapping invalidations starts a fresh hull; later ones only widen it.
  if (kvm.mmuInvalidateInProgress === 1) {
    kvm.mmuInvalidateRangeStart = INVALID_GPA;
    kvm.mmuInvalidateRangeEnd = INVALID_GPA;
  }
  kvm.emit({ e: 'invalidateBegin', inProgress: kvm.mmuInvalidateInProgress });
}

/** @kernel kvm_mmu_invalidate_range_add — widens the hull; never shrinks it. */
export function mmuInvalidateRangeAdd(kvm: Kvm, start: number, end: number): void {
  kvm.mmuLock.assertWriteHeld('kvm_mmu_invalidate_range_add');
  if (kvm.mmuInvalidateInProgress <= 0) throw new ModelBug('kvm_mmu_invalidate_range_add with no invalidation in progress');
  if (kvm.mmuInvalidateRangeStart === INVALID_GPA) {
    kvm.mmuInvalidateRangeStart = start;
    kvm.mmuInvalidateRangeEnd = end;
  } else if ((start < kvm.mmuInvalidateRangeStart || end > kvm.mmuInvalidateRangeEnd) && kvm.mutation.acts('range-add-no-widen')) {
    // The mutant keeps the first range: this one is left out of the hull.
  } else {
    kvm.mmuInvalidateRangeStart = Math.min(kvm.mmuInvalidateRangeStart, start);
    kvm.mmuInvalidateRangeEnd = Math.max(kvm.mmuInvalidateRangeEnd, end);
  }
  kvm.emit({ e: 'invalidateRangeAdd', start: kvm.mmuInvalidateRangeStart, end: kvm.mmuInvalidateRangeEnd });
}

/**
 * @kernel kvm_mmu_invalidate_end — bump the seq *before* dropping the count, so a
 * reader that sees the count at 0 also sees the new seq (smp_wmb, paired with the
 * fault path's smp_rmb). Both happen in one model step, which is that ordering.
 */
export function mmuInvalidateEnd(kvm: Kvm): void {
  kvm.mmuLock.assertWriteHeld('kvm_mmu_invalidate_end');
  kvm.mmuInvalidateSeq++;
  kvm.mmuInvalidateInProgress--;
  if (kvm.mmuInvalidateInProgress < 0) throw new ModelBug('mmu_invalidate_in_progress went negative');
  if (kvm.mmuInvalidateRangeStart === INVALID_GPA) throw new ModelBug('kvm_mmu_invalidate_end with no range added');
  kvm.emit({ e: 'invalidateEnd', seq: kvm.mmuInvalidateSeq, inProgress: kvm.mmuInvalidateInProgress });
}

/** The gfn lies in the in-progress hull. */
function inRange(kvm: Kvm, gfn: number): boolean {
  return gfn >= kvm.mmuInvalidateRangeStart && gfn < kvm.mmuInvalidateRangeEnd;
}

/** Parts of the check a mutant of the fault path leaves out (Mutation.faultRetrySkips). */
export interface RetrySkips {
  readonly range: boolean;
  readonly seq: boolean;
}

const NO_SKIPS: RetrySkips = { range: false, seq: false };

/**
 * @kernel mmu_invalidate_retry_gfn — the authoritative check, under mmu_lock: retry
 * when an in-progress invalidation covers gfn, or one completed since the snapshot.
 * `skip`: what the fault path's mutants leave out (the APIC-access reload's
 * check is the kernel's whatever the mutant).
 */
export function mmuInvalidateRetryGfn(kvm: Kvm, mmuSeq: number, gfn: number, skip: RetrySkips = NO_SKIPS): boolean {
  kvm.mmuLock.assertHeld('mmu_invalidate_retry_gfn');
  if (kvm.mmuInvalidateInProgress > 0 && !skip.range) {
    // begin and the first range_add share one write-locked section: a lock holder
    // can never see a count without a range.
    if (kvm.mmuInvalidateRangeStart === INVALID_GPA) throw new ModelBug('invalidation in progress without a range under mmu_lock');
    if (inRange(kvm, gfn)) return true;
  }
  if (skip.seq) return false;
  return kvm.mmuInvalidateSeq !== mmuSeq;
}

/**
 * @kernel mmu_invalidate_retry_gfn_unsafe — the lockless pre-check (thread 001). It
 * may miss an invalidation that begins right after (the locked check catches that)
 * and may see a count with the sentinel range (then the comparison is false).
 * `inProgress` is the caller's read of mmu_invalidate_in_progress (READ_ONCE).
 */
export function mmuInvalidateRetryGfnUnsafe(kvm: Kvm, mmuSeq: number, gfn: number, inProgress: number): boolean {
  if (inProgress > 0 && inRange(kvm, gfn)) return true;
  return kvm.mmuInvalidateSeq !== mmuSeq;
}
