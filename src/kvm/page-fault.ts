import { opRead } from '../runtime/op.js';
import type { RetPf } from './events.js';
import { fastPageFault, pageFaultCanBeFast } from './fast-page-fault.js';
import { hvaToPfn } from './gup.js';
import { mmuInvalidateRetryGfn, mmuInvalidateRetryGfnUnsafe } from './invalidate.js';
import { gfnToHva, KVM_MEMSLOT_INVALID, slotFound } from './memslots.js';
import type { PageFault } from './mmu-backend.js';
import type { Vcpu } from './vcpu.js';

/**
 * The page-fault path as after thread 001 landed (v6.8+): look the memslot up,
 * snapshot the seq, check the slot, (pre-check), look the pfn up without
 * mmu_lock, (check again), take mmu_lock, is_page_fault_stale, install. Shadow
 * paging puts the guest walk in front and page tracking after the lookup
 * (FNAME(page_fault): walk_addr, the #PF injected for a PTE not present; the
 * memslot of the gfn the walk found; page_fault_handle_page_track; then
 * kvm_faultin_pfn and the rest).
 * @kernel arch/x86/kvm/mmu/mmu.c kvm_mmu_page_fault, kvm_tdp_mmu_page_fault, direct_page_fault; mmu_internal.h kvm_mmu_do_page_fault; paging_tmpl.h FNAME(page_fault)
 */
export function* kvmMmuPageFault(vcpu: Vcpu, gfn: number, write: boolean, present = false): Generator<number, RetPf, void> {
  const kvm = vcpu.kvm;
  kvm.emit({ e: 'faultBegin', vcpu: vcpu.id, gfn, write, refault: vcpu.fixedGfn === gfn });
  const fault: PageFault = { gfn, write, present, mmuSeq: 0, slot: undefined, hva: -1, pfn: -1 };
  /** fast_page_fault fixed the fault (or found it spurious) without mmu_lock: nothing below runs. */
  let fast = false;
  // Shadow paging (FNAME(page_fault)): the guest's tables are walked first; a PTE
  // not present injects the guest's #PF, and nothing below runs.
  let ret: RetPf | null = kvm.mmu.guestWalk === undefined ? null : yield* kvm.mmu.guestWalk(vcpu, fault);
  if (ret === null) {
    // Race: a memslot update swapping in an INVALID copy or a new set. The slot is
    // looked up before the seq snapshot (kvm_mmu_do_page_fault for TDP, FNAME(page_fault)
    // after the walk for shadow paging); kvm_faultin_pfn checks what was found after
    // it. A swap between the two leaves the fault with the old slot: the swap's
    // synchronize_srcu waits for the fault, whose SRCU read side covers it.
    yield opRead(kvm.objMemslots);
    fault.slot = kvm.memslots.gfnToMemslot(gfn);
    if (kvm.memslotsChange && kvm.listens('memslotLookup')) kvm.emit({ e: 'memslotLookup', vcpu: vcpu.id, by: 'fault', gfn, ...slotFound(fault.slot) });
    // A direct MMU (kvm_tdp_mmu_page_fault, direct_page_fault): fast_page_fault
    // first, for a write to a present leaf; RET_PF_INVALID goes on.
    const fastRet = pageFaultCanBeFast(vcpu, fault) ? yield* fastPageFault(vcpu, fault) : 'invalid';
    if (fastRet !== 'invalid') {
      fast = true;
      ret = fastRet;
    } else {
      // Shadow paging: a write to a write-protected guest table is emulated before any pfn lookup.
      const emulated = write && kvm.mmu.pageTrackWrite !== undefined && (yield* kvm.mmu.pageTrackWrite(vcpu, fault));
      ret = emulated ? 'emulate' : yield* kvmFaultinPfn(vcpu, fault);
    }
  }
  if (ret === 'fixed' && !fast) {
    const lock = kvm.mmuLock;
    const writeLock = kvm.mmu.faultTakesWriteLock;
    if (writeLock) yield* lock.writeLock();
    else yield* lock.readLock();
    if (isPageFaultStale(vcpu, fault)) ret = 'retry-stale';
    else ret = yield* kvm.mmu.map(vcpu, fault);
    if (writeLock) yield* lock.writeUnlockY();
    else yield* lock.readUnlockY();
  }
  const latency = ret.startsWith('retry') ? 0 : vcpu.faultLatency();
  // The fault's page reference goes (kvm_release_faultin_page), whatever became of it.
  vcpu.putPage();
  kvm.emit({ e: 'faultEnd', vcpu: vcpu.id, gfn, ret, pfn: fault.pfn, latencyNs: latency, retries: vcpu.faultRetries });
  return ret;
}

/**
 * @kernel kvm_faultin_pfn — everything before mmu_lock. Returns 'fixed' to mean
 * RET_PF_CONTINUE (go on to take the lock), or why the fault ends here.
 */
function* kvmFaultinPfn(vcpu: Vcpu, fault: PageFault): Generator<number, RetPf, void> {
  const kvm = vcpu.kvm;
  // Race: an invalidation ending (seq bump) around the snapshot. Taking the snapshot
  // before the pfn lookup means any invalidation completing after it changes the seq (smp_rmb).
  yield opRead(kvm.objInvalidateSeq);
  fault.mmuSeq = kvm.mmuInvalidateSeq;
  kvm.emit({ e: 'seqSnapshot', vcpu: vcpu.id, seq: fault.mmuSeq });
  kvm.rt.charge(kvm.costs.faultNs);

  const slot = fault.slot;
  // kvm_handle_noslot_fault: with MMIO caching, go on to take mmu_lock and install
  // an MMIO SPTE (KVM_PFN_NOSLOT); without, emulate at once.
  if (slot === undefined) return kvm.settings.mmioCaching ? 'fixed' : 'emulate';
  // The slot is being deleted or moved: spin until the update is done, so that its
  // SPTEs are all zapped before anything new is installed for the gfn.
  if (slot.flags & KVM_MEMSLOT_INVALID) return 'retry-invalid-slot';

  // Thread 001's pre-check: an invalidation in progress on the gfn means retry before
  // get_user_pages (which could take locks the invalidation needs) and mmu_lock.
  if (kvm.settings.faultPrecheck === 'lockless') {
    // Race: an invalidation beginning or ending while we look (locklessInvalidateCheck).
    yield kvm.opInvalidateRead;
    if (locklessInvalidateCheck(vcpu, fault, false)) return 'retry-precheck';
  }

  fault.hva = gfnToHva(slot, fault.gfn);
  const { pfn, major } = yield* hvaToPfn(kvm, fault.hva);
  fault.pfn = pfn;
  vcpu.holdPage(pfn);
  kvm.rt.charge(major ? kvm.costs.gupMajorNs : kvm.costs.gupNs);
  kvm.emit({ e: 'gup', vcpu: vcpu.id, gfn: fault.gfn, hva: fault.hva, pfn });
  if (kvm.mutation.has('fault-seq-resnapshot-after-gup')) yield* resnapshotAfterGup(vcpu, fault);
  // The same check again, for an invalidation that began while get_user_pages ran:
  // only to spare mmu_lock (and the invalidator a lock break); the pfn is let go.
  if (kvm.settings.faultPrecheck === 'lockless') {
    // Race: an invalidation beginning or ending while we look (locklessInvalidateCheck).
    yield kvm.opInvalidateRead;
    if (locklessInvalidateCheck(vcpu, fault, true)) return 'retry-precheck';
  }
  return 'fixed';
}

/**
 * Mutant fault-seq-resnapshot-after-gup: a patch that takes mmu_invalidate_seq
 * again once the pfn is in hand ("an invalidation that ended during
 * get_user_pages need not cost a retry"). The fresh snapshot is newer than the
 * pfn: an invalidation that began and ended while get_user_pages held the old
 * page leaves no trace for is_page_fault_stale. Acts when the seq moved.
 */
function* resnapshotAfterGup(vcpu: Vcpu, fault: PageFault): Generator<number, void, void> {
  const kvm = vcpu.kvm;
  // Race: an invalidation ending (seq bump) between the pfn lookup and this read,
  // the window the kernel's snapshot-before-lookup (smp_rmb) closes.
  yield opRead(kvm.objInvalidateSeq);
  const seq = kvm.mmuInvalidateSeq;
  if (seq === fault.mmuSeq) return;
  kvm.mutation.tookEffect(
    () => `snapshot mmu_invalidate_seq=${seq} again after get_user_pages, in place of ${fault.mmuSeq} (the mutant's): newer than the pfn`,
  );
  fault.mmuSeq = seq;
}

/**
 * @kernel mmu_invalidate_retry_gfn_unsafe as kvm_faultin_pfn uses it, before and
 * after the pfn lookup: true when an invalidation covers the gfn or completed
 * since the snapshot, read without mmu_lock (READ_ONCE). The caller's step
 * before it reads mmu_invalidate (kvm.opInvalidateRead). Race: an
 * invalidation beginning or ending while we look. A miss here is caught under
 * mmu_lock; a hit saves taking mmu_lock (and making the invalidator yield).
 */
function locklessInvalidateCheck(vcpu: Vcpu, fault: PageFault, afterGup: boolean): boolean {
  const kvm = vcpu.kvm;
  let inProgress = kvm.mmuInvalidateInProgress;
  let kept = false;
  if (kvm.mutation.has('precheck-plain-read')) {
    // Without READ_ONCE the compiler may keep the first value read in a register.
    if (vcpu.cachedInProgress === undefined) vcpu.cachedInProgress = inProgress;
    kept = vcpu.cachedInProgress !== inProgress;
    if (kept) kvm.mutation.tookEffect();
    inProgress = vcpu.cachedInProgress;
  }
  const retry = mmuInvalidateRetryGfnUnsafe(kvm, fault.mmuSeq, fault.gfn, inProgress);
  kvm.emit({
    e: 'precheck',
    vcpu: vcpu.id,
    gfn: fault.gfn,
    afterGup,
    inProgress,
    kept,
    rangeStart: kvm.mmuInvalidateRangeStart,
    rangeEnd: kvm.mmuInvalidateRangeEnd,
    seq: kvm.mmuInvalidateSeq,
    snapshot: fault.mmuSeq,
    retry,
  });
  return retry;
}

/**
 * @kernel is_page_fault_stale — under mmu_lock: the root went obsolete, or an
 * invalidation covers the gfn or completed since the snapshot.
 */
export function isPageFaultStale(vcpu: Vcpu, fault: PageFault): boolean {
  const kvm = vcpu.kvm;
  const rootObsolete = kvm.mmu.currentRootObsolete(vcpu);
  // No memslot (an MMIO SPTE to install): only the root is checked.
  if (rootObsolete || fault.slot === undefined) {
    if (kvm.listens('staleCheck')) staleCheckEvent(vcpu, fault, rootObsolete, false, rootObsolete);
    return rootObsolete;
  }
  const skips = kvm.mutation.faultRetrySkips;
  const stale = mmuInvalidateRetryGfn(kvm, fault.mmuSeq, fault.gfn, skips);
  // The fault path's mutants leave part of the check out: they act when that part would have said stale.
  const skipped = (skips.range || skips.seq) && !stale && mmuInvalidateRetryGfn(kvm, fault.mmuSeq, fault.gfn);
  if (skipped) kvm.mutation.tookEffect();
  if (kvm.listens('staleCheck')) staleCheckEvent(vcpu, fault, stale, skipped, false);
  return stale;
}

function staleCheckEvent(vcpu: Vcpu, fault: PageFault, stale: boolean, skipped: boolean, rootObsolete: boolean): void {
  const kvm = vcpu.kvm;
  kvm.emit({
    e: 'staleCheck',
    vcpu: vcpu.id,
    gfn: fault.gfn,
    stale,
    skipped,
    inProgress: kvm.mmuInvalidateInProgress,
    rangeStart: kvm.mmuInvalidateRangeStart,
    rangeEnd: kvm.mmuInvalidateRangeEnd,
    seq: kvm.mmuInvalidateSeq,
    snapshot: fault.mmuSeq,
    root: vcpu.root.root,
    rootObsolete,
    noSlot: fault.slot === undefined,
  });
}
