import { modelAssert } from '../runtime/model-bug.js';
import { type Op, op2, opPair, opRead, opWrite, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { BITS_PER_LONG, type DirtyLog } from './dirty-log.js';
import type { DirtyLogWrprotBy, WriteProtectFlush } from './events.js';
import type { Kvm } from './kvm.js';
import type { Memslot } from './memslots.js';
import type { MutantName } from './mutants.js';
import { kvmFlushRemoteTlbs } from './vcpu-requests.js';

/** The logged memslot as the memslots hold it now (a scenario may not delete or move it). */
export function loggedSlot(kvm: Kvm, log: DirtyLog): Memslot {
  const slot = kvm.memslots.byId(log.slotId);
  modelAssert(slot !== undefined, `dirty logging: memslot ${log.slotId} is gone (the scenario's rules keep it)`);
  return slot;
}

/**
 * @kernel KVM_SET_USER_MEMORY_REGION adding KVM_MEM_LOG_DIRTY_PAGES →
 * kvm_commit_memory_region → kvm_mmu_slot_apply_flags: every leaf of the slot
 * write-protected (kvm_mmu_slot_remove_write_access: the rmaps under the write
 * lock, kvm_tdp_mmu_wrprot_slot under the read lock), then
 * kvm_flush_remote_tlbs_memslot, unconditionally, after mmu_lock is dropped and
 * before the ioctl returns. With KVM_DIRTY_LOG_INITIALLY_SET the new bitmap is
 * all set (kvm_prepare_memory_region) and kvm_mmu_slot_apply_flags returns
 * before write-protecting anything: every page counts as dirty, and the first
 * KVM_CLEAR_DIRTY_LOG of each write-protects it. The flags-only swap of the
 * memslots is folded into the step that sets the flag: its synchronize_srcu
 * lets every fault that found the slot unflagged finish first, and the model's
 * faults read the flag when they make the SPTE (make_spte), so none can come
 * after it unflagged.
 */
export function* kvmEnableDirtyLogging(kvm: Kvm, log: DirtyLog): Task {
  yield* kvm.slotsLock.writeLock();
  // Race: faults looking the slot up (kvm_vcpu_gfn_to_memslot) and reading its
  // flag as they make a writable SPTE (make_spte) against the flags-only swap that
  // publishes it: a write of the memslots, as the swap's is.
  yield op2(WRITE, log.obj, kvm.objMemslots);
  const slot = loggedSlot(kvm, log);
  log.enabled = true;
  if (log.manualProtectAndInitSet) {
    // Every bit set with the flag, in one step: a write from here on is logged
    // until the KVM_CLEAR_DIRTY_LOG that clears its bit write-protects its leaf.
    log.bitmap.addRange(slot.baseGfn, slot.baseGfn + slot.npages);
    kvm.emit({ e: 'dirtyLogEnable', slot: slot.id, phase: 'begin', leaves: 0, flush: 'none needed', initiallySet: true });
    log.enableReturned = true;
    kvm.emit({ e: 'dirtyLogEnable', slot: slot.id, phase: 'returned', leaves: 0, flush: 'none needed', initiallySet: true });
    yield* kvm.slotsLock.writeUnlockY();
    return;
  }
  log.toCopy.addRange(slot.baseGfn, slot.baseGfn + slot.npages);
  kvm.emit({ e: 'dirtyLogEnable', slot: slot.id, phase: 'begin', leaves: 0, flush: 'none needed' });
  const leaves = yield* kvm.mmu.slotRemoveWriteAccess(slot);
  // The flush is what makes the protection hold: a TLB entry that allows writes
  // outlives the SPTE's write protection, and a write through it is never logged.
  let flush: WriteProtectFlush = 'done';
  if (kvm.mutation.acts('dirty-log-enable-no-flush')) flush = 'skipped';
  else yield* kvmFlushRemoteTlbs(kvm, 'kvm_mmu_slot_apply_flags');
  log.enableReturned = true;
  kvm.emit({ e: 'dirtyLogEnable', slot: slot.id, phase: 'returned', leaves, flush });
  yield* kvm.slotsLock.writeUnlockY();
}

/**
 * @kernel kvm_vm_ioctl_get_dirty_log → kvm_get_dirty_log_protect. Manual protect
 * off: under mmu_lock (write), each non-zero word of the bitmap taken with xchg
 * into the second bitmap and its gfns write-protected
 * (kvm_arch_mmu_enable_log_dirty_pt_masked); the lock dropped; if a word was
 * non-zero, kvm_flush_remote_tlbs_memslot; only then the copy to userspace. A
 * write through a TLB entry left from before the write protection is fine until
 * the ioctl returns (the page was reported, and is copied after); after it,
 * only the flush stops one. Manual protect on (kvm->manual_dirty_log_protect):
 * the live bitmap copied to userspace as it is, under no mmu_lock, nothing
 * cleared, write-protected or flushed: KVM_CLEAR_DIRTY_LOG does that for what
 * userspace hands back. Returns the gfns the bitmap userspace got reports.
 */
export function* kvmGetDirtyLogProtect(kvm: Kvm, log: DirtyLog, n: number): Generator<Op, number[], void> {
  yield* kvm.slotsLock.writeLock();
  const slot = loggedSlot(kvm, log);
  if (log.manualDirtyLogProtect) {
    const reported = yield* copyDirtyBitmapToUser(kvm, log, slot, n);
    log.harvests++;
    kvm.emit({ e: 'dirtyLogHarvest', slot: slot.id, n, phase: 'returned', gfns: reported, flush: 'none needed', manual: true });
    yield* kvm.slotsLock.writeUnlockY();
    return reported;
  }
  yield* kvm.mmuLock.writeLock();
  const taken: number[] = [];
  for (let word = slot.baseGfn; word < slot.baseGfn + slot.npages; word += BITS_PER_LONG) {
    // Race: faults setting bits (mark_page_dirty_in_slot, atomic) against the xchg.
    // Under the write lock no fault is making an SPTE, but the bit is set before
    // the SPTE in the kernel (make_spte), so the xchg is atomic all the same.
    yield opPair(WRITE, log.obj, READ, kvm.objMemslots);
    kvm.rt.charge(kvm.costs.dirtyBitmapWordNs);
    const mask: number[] = [];
    for (let g = word; g < Math.min(word + BITS_PER_LONG, slot.baseGfn + slot.npages); g++) {
      if (!log.bitmap.delete(g)) continue;
      mask.push(g);
      log.toCopy.add(g);
    }
    kvm.emit({ e: 'dirtyLogHarvest', slot: slot.id, n, phase: 'taken', gfns: mask, flush: 'none needed' });
    if (mask.length === 0) continue;
    yield* kvmArchMmuEnableLogDirtyPtMasked(kvm, mask, 'KVM_GET_DIRTY_LOG');
    taken.push(...mask);
  }
  yield* kvm.mmuLock.writeUnlockY();
  const how = yield* kvmFlushRemoteTlbsMemslot(kvm, taken.length > 0, 'dirty-log-no-flush');
  log.harvests++;
  kvm.emit({ e: 'dirtyLogHarvest', slot: slot.id, n, phase: 'returned', gfns: taken, flush: how });
  yield* kvm.slotsLock.writeUnlockY();
  return taken;
}

/**
 * Manual protect's copy_to_user straight from memslot->dirty_bitmap, a word at a
 * time and under no lock but slots_lock: the gfns whose bits it found set, left
 * set, each now a page the VMM is to copy once KVM_CLEAR_DIRTY_LOG has returned.
 */
function* copyDirtyBitmapToUser(kvm: Kvm, log: DirtyLog, slot: Memslot, n: number): Generator<Op, number[], void> {
  const reported: number[] = [];
  for (let word = slot.baseGfn; word < slot.baseGfn + slot.npages; word += BITS_PER_LONG) {
    // Race: marks (a fault's under mmu_lock, which this ioctl does not take,
    // fast_page_fault's under none) against the read: a bit set after it stays
    // set for the next KVM_GET_DIRTY_LOG.
    yield opRead(log.obj);
    kvm.rt.charge(kvm.costs.dirtyBitmapWordNs);
    const found: number[] = [];
    for (let g = word; g < Math.min(word + BITS_PER_LONG, slot.baseGfn + slot.npages); g++) {
      if (!log.bitmap.has(g)) continue;
      found.push(g);
      log.toCopy.add(g);
    }
    kvm.emit({ e: 'dirtyLogHarvest', slot: slot.id, n, phase: 'copied', gfns: found, flush: 'none needed', manual: true });
    reported.push(...found);
  }
  return reported;
}

/**
 * @kernel kvm_arch_mmu_enable_log_dirty_pt_masked — the leaves of the gfns of
 * one bitmap word's mask write-protected (kvm_mmu_write_protect_pt_masked on the
 * rmaps, kvm_tdp_mmu_clear_dirty_pt_masked with wrprot under TDP; the model has
 * no PML, so the write-protect flavour, not the D-bit one, and 4K leaves only,
 * so no huge page to write-protect first under KVM_DIRTY_LOG_INITIALLY_SET),
 * under mmu_lock held for write by the caller (KVM_GET_DIRTY_LOG,
 * KVM_CLEAR_DIRTY_LOG, or KVM_RESET_DIRTY_RINGS's kvm_reset_dirty_gfn).
 */
export function* kvmArchMmuEnableLogDirtyPtMasked(kvm: Kvm, mask: readonly number[], by: DirtyLogWrprotBy): Task {
  kvm.mmuLock.assertWriteHeld('kvm_arch_mmu_enable_log_dirty_pt_masked');
  for (const g of mask) {
    // Race: guests walking this gfn's SPTEs in hardware (no lock) while the W bit goes.
    yield opWrite(kvm.mmu.spteObject(g));
    kvm.rt.charge(kvm.costs.dirtyLogWrprotNs);
    kvm.mmu.writeProtectGfn(g, by);
  }
}

/**
 * @kernel kvm_flush_remote_tlbs_memslot — after mmu_lock is dropped, before the
 * ioctl returns, when a word's mask write-protected anything (`needed`). It is
 * what makes the protection hold: a TLB entry that allows writes outlives the
 * SPTE's, and a write through it after the VMM's copy is never logged.
 * `mutant` leaves it out. KVM_RESET_DIRTY_RINGS flushes the same way, with
 * kvm_flush_remote_tlbs (`reason`).
 */
export function* kvmFlushRemoteTlbsMemslot(
  kvm: Kvm,
  needed: boolean,
  mutant: MutantName,
  reason = 'kvm_flush_remote_tlbs_memslot',
): Generator<Op, WriteProtectFlush, void> {
  if (!needed) return 'none needed';
  if (kvm.mutation.acts(mutant)) return 'skipped';
  yield* kvmFlushRemoteTlbs(kvm, reason);
  return 'done';
}
