import { opRead, opWrite } from '../runtime/op.js';
import { kvmSlotDirtyTrackEnabled, markPageDirtyInSlot } from './dirty-log.js';
import type { PageFault } from './mmu-backend.js';
import { eptAccessTracking } from './settings.js';
import type { Vcpu } from './vcpu.js';

/**
 * A leaf SPTE as fast_page_fault reads and writes it: the pfn it maps and its W
 * bit. The model's TDP leaves are always MMU-writable and host-writable
 * (shadow_mmu_writable_mask, shadow_host_writable_mask): dirty logging's write
 * protection (kvm_tdp_mmu_wrprot_slot, kvm_tdp_mmu_clear_dirty_pt_masked with
 * wrprot) clears PT_WRITABLE_MASK alone, and nothing else write-protects a TDP
 * leaf here, so every write-protected leaf is one the fast path may fix.
 */
export interface LeafSpte {
  /** The host pfn the leaf maps. */
  readonly pfn: number;
  /** PT_WRITABLE_MASK. */
  readonly writable: boolean;
  /**
   * is_access_track_spte (EPT without A/D bits, eptAdBits=off): aging's
   * mark_spte_for_access_track cleared its RWX bits (R and X saved high, W not
   * saved), so the hardware sees it not present; still shadow-present, pfn kept.
   * Absent: false (every leaf where A/D bits are on).
   */
  readonly accessTracked?: boolean;
}

/** Whether two reads of a leaf are the same SPTE value (what a cmpxchg compares). */
export function sameLeaf(a: LeafSpte, b: LeafSpte): boolean {
  return a.pfn === b.pfn && a.writable === b.writable && (a.accessTracked ?? false) === (b.accessTracked ?? false);
}

/** kvm_ad_enabled: EPT A/D bits in use (always, under shadow paging). */
function kvmAdEnabled(vcpu: Vcpu): boolean {
  return !eptAccessTracking(vcpu.kvm.settings);
}

/**
 * @kernel mmu.c is_access_allowed — whether the fault's access would go through
 * the leaf now: an access-tracked leaf allows none (it is not present to the
 * hardware); else a read always, a write when the leaf is writable.
 */
function isAccessAllowed(fault: PageFault, spte: LeafSpte): boolean {
  if (spte.accessTracked === true) return false;
  return !fault.write || spte.writable;
}

/** What fast_page_fault returns: RET_PF_FIXED, RET_PF_SPURIOUS, or RET_PF_INVALID (the slow path goes on). */
export type FastPfRet = 'fixed' | 'spurious' | 'invalid';

/** fast_page_fault gives up after this many failed cmpxchgs (the kernel's retry_count > 4: "Fast #PF retrying more than 4 times"). */
export const FAST_PF_MAX_RETRIES = 4;

/**
 * @kernel mmu.c page_fault_can_be_fast — a write fault on a present SPTE (a
 * write protection the fast path may lift), and, when kvm_ad_enabled is false
 * (eptAdBits=off), any fault on an SPTE not present: it may be one aging marked
 * for access tracking, which the fast path restores (a spurious fault, another
 * vCPU's install, also ends there; a leaf really not present goes on to the
 * slow path). Not an MMIO fault (those never come here: the MMIO fast path or
 * the full fault handles them), and only for a direct MMU. (Later kernels send
 * every fault on an SPTE not present through the fast path, A/D bits or not:
 * not modelled, the model's default keeps the kvm_ad_enabled test.)
 */
export function pageFaultCanBeFast(vcpu: Vcpu, fault: PageFault): boolean {
  const kvm = vcpu.kvm;
  if (kvm.settings.fastPageFault !== 'on' || kvm.mmu.fastPfGetLastSpte === undefined) return false;
  return fault.present ? fault.write : !kvmAdEnabled(vcpu);
}

/**
 * @kernel mmu.c fast_page_fault — without mmu_lock and without the
 * mmu_invalidate_seq snapshot: read the leaf (walk_shadow_page_lockless_begin,
 * kvm_tdp_mmu_fast_pf_get_last_sptep); a leaf gone sends the fault down the slow
 * path; one that already allows the access makes it spurious; otherwise the new
 * leaf (an access-tracked one restored, restore_acc_track_spte; the W bit set
 * for a write) is stored with a cmpxchg against the value read
 * (fast_pf_fix_direct_spte), which is what makes it safe against a racing zap,
 * write-protect or mark for access tracking: any of them changed the leaf, the
 * cmpxchg fails, and the leaf is read again.
 */
export function* fastPageFault(vcpu: Vcpu, fault: PageFault): Generator<number, FastPfRet, void> {
  const kvm = vcpu.kvm;
  const mmu = kvm.mmu;
  let retries = 0;
  let ret: FastPfRet = 'invalid';
  let spte: LeafSpte | null = null;
  for (;;) {
    // Race: a harvest's write-protect, a notifier's zap (host migration of the
    // page), aging's mark for access tracking (no A/D bits), or another vCPU's fix
    // of this leaf, any of which may land before or after this lockless read.
    yield opRead(mmu.spteObject(fault.gfn));
    spte = mmu.fastPfGetLastSpte!(vcpu, fault.gfn);
    kvm.emit(
      spte?.accessTracked === true
        ? { e: 'fastPfGetSpte', vcpu: vcpu.id, gfn: fault.gfn, pfn: spte.pfn, writable: false, accessTracked: true }
        : { e: 'fastPfGetSpte', vcpu: vcpu.id, gfn: fault.gfn, pfn: spte?.pfn ?? -1, writable: spte?.writable ?? false },
    );
    // Not shadow-present (zapped, or never made): only the slow path can map the page.
    if (spte === null) break;
    // is_access_allowed: another vCPU fixed it, or our TLB was stale: nothing to do.
    if (isAccessAllowed(fault, spte)) {
      ret = 'spurious';
      break;
    }
    // An access-tracked leaf: restore_acc_track_spte gives back R and X (W was not
    // saved). Then, for a write, the W bit: is_mmu_writable_spte holds for every
    // TDP leaf here (LeafSpte).
    const next: LeafSpte = { pfn: spte.pfn, writable: spte.writable || fault.write };
    if (yield* fastPfFixDirectSpte(vcpu, fault, spte, next)) {
      ret = 'fixed';
      break;
    }
    if (++retries > FAST_PF_MAX_RETRIES) break;
  }
  const done = { e: 'fastPageFault' as const, vcpu: vcpu.id, gfn: fault.gfn, oldPfn: spte?.pfn ?? -1, oldWritable: spte?.writable ?? false, ret, retries };
  // A fault on a leaf not present (only without A/D bits) says which access it was, and whether the leaf was access-tracked.
  kvm.emit(fault.present ? done : { ...done, notPresent: fault.write ? 'write' : 'read', accessTracked: spte?.accessTracked === true });
  if (ret === 'fixed') {
    fault.pfn = spte!.pfn;
    kvm.rt.charge(kvm.costs.spteInstallNs);
  }
  return ret;
}

/**
 * @kernel mmu.c fast_pf_fix_direct_spte — try_cmpxchg64 of the leaf from the
 * value read to `next`; on success, as the W bit is newly set, the gfn is
 * marked dirty (mark_page_dirty_in_slot) in a step of its own after it, under no
 * lock: another vCPU may write through the new writable SPTE, and a harvest may
 * take the bitmap word, before the mark lands. Such a write is not lost: the
 * mark reports the page to the next harvest (DirtyLog.marking keeps the marks
 * still to come, which the oracle counts at the end of a run).
 */
function* fastPfFixDirectSpte(vcpu: Vcpu, fault: PageFault, old: LeafSpte, next: LeafSpte): Generator<number, boolean, void> {
  const kvm = vcpu.kvm;
  // Race: whatever changed the leaf since the lockless read (a harvest's
  // write-protect, a notifier's zap, aging's mark for access tracking, another
  // vCPU's fix or restore): the cmpxchg fails then.
  yield opWrite(kvm.mmu.spteObject(fault.gfn));
  const plain = kvm.mutation.has('fast-pf-plain-write');
  const before = kvm.mmu.fastPfGetLastSpte!(vcpu, fault.gfn);
  const ok = kvm.mmu.fastPfCmpxchgSpte!(vcpu, fault.gfn, old, next, plain);
  const cmpxchg = {
    e: 'fastPfCmpxchg' as const,
    vcpu: vcpu.id,
    gfn: fault.gfn,
    oldPfn: old.pfn,
    curPfn: before?.pfn ?? -1,
    curWritable: before?.writable ?? false,
    ok,
    plain,
  };
  // restore_acc_track_spte's cmpxchg says so, with the leaf it made and the one it met.
  kvm.emit(
    old.accessTracked === true || before?.accessTracked === true
      ? { ...cmpxchg, restore: old.accessTracked === true, newWritable: next.writable, curAccessTracked: before?.accessTracked === true }
      : cmpxchg,
  );
  if (!ok) return false;
  if (next.writable && !old.writable && kvmSlotDirtyTrackEnabled(kvm, fault.slot) && !kvm.mutation.acts('fast-pf-no-mark-dirty')) {
    const log = kvm.dirtyLog!;
    log.marking.set(fault.gfn, (log.marking.get(fault.gfn) ?? 0) + 1);
    // Race: a harvest's xchg of the bitmap word, against this set_bit_le: before
    // it, the harvest takes the word without the bit (and leaves the now writable
    // leaf writable), and the next harvest reports the page; also another vCPU's
    // write through the new writable SPTE, which may come before the mark.
    yield opWrite(log.obj);
    const left = log.marking.get(fault.gfn)! - 1;
    if (left === 0) log.marking.delete(fault.gfn);
    else log.marking.set(fault.gfn, left);
    markPageDirtyInSlot(kvm, vcpu.id, fault.slot, fault.gfn, true, true);
  }
  return true;
}
