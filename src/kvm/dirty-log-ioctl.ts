import { modelAssert } from '../runtime/model-bug.js';
import { op2, opPair, opWrite, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { BITS_PER_LONG, type DirtyLog } from './dirty-log.js';
import type { WriteProtectFlush } from './events.js';
import type { Kvm } from './kvm.js';
import { gfnToHva, type Memslot } from './memslots.js';
import { kvmFlushRemoteTlbs } from './vcpu-requests.js';

/** What the VMM's migration thread does (host.dirtyLog). */
export interface DirtyLogSpec {
  /** The memslot whose writes are logged. */
  slot: number;
  /** When logging is enabled, ns. */
  startNs: number;
  /** KVM_GET_DIRTY_LOG calls after it. */
  harvests: number;
  /** Time from one ioctl's copies to the next harvest, ns. */
  intervalNs: number;
}

/**
 * Live migration's use of dirty logging, as a VMM does it: enable
 * KVM_MEM_LOG_DIRTY_PAGES on the slot and copy every page, then harvest the
 * bitmap `harvests` times, copying the pages each harvest reports.
 */
export function* dirtyLogMigration(kvm: Kvm, spec: DirtyLogSpec): Task {
  const log = kvm.dirtyLog!;
  if (spec.startNs > 0) yield* kvm.sleep(spec.startNs);
  yield* kvmEnableDirtyLogging(kvm, log);
  for (let n = 1; n <= spec.harvests; n++) {
    if (spec.intervalNs > 0) yield* kvm.sleep(spec.intervalNs);
    yield* kvmGetDirtyLogProtect(kvm, log, n);
  }
}

/** The logged memslot as the memslots hold it now (a scenario may not delete or move it). */
function loggedSlot(kvm: Kvm, log: DirtyLog): Memslot {
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
 * before the ioctl returns. The flags-only swap of the memslots before it is
 * folded into the step that sets the flag: its synchronize_srcu lets every fault
 * that found the slot unflagged finish first, and the model's faults read the
 * flag when they make the SPTE (make_spte), so none can come after it unflagged.
 */
export function* kvmEnableDirtyLogging(kvm: Kvm, log: DirtyLog): Task {
  yield* kvm.slotsLock.writeLock();
  // Race: faults looking the slot up (kvm_vcpu_gfn_to_memslot) and reading its
  // flag as they make a writable SPTE (make_spte) against the flags-only swap that
  // publishes it: a write of the memslots, as the swap's is.
  yield op2(WRITE, log.obj, kvm.objMemslots);
  const slot = loggedSlot(kvm, log);
  log.enabled = true;
  for (let g = slot.baseGfn; g < slot.baseGfn + slot.npages; g++) log.toCopy.add(g);
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
  yield* copyPages(kvm, log, slot, 0);
}

/**
 * @kernel kvm_vm_ioctl_get_dirty_log → kvm_get_dirty_log_protect (manual protect
 * off): under mmu_lock (write), each non-zero word of the bitmap taken with xchg
 * into the second bitmap and its gfns write-protected
 * (kvm_arch_mmu_enable_log_dirty_pt_masked: kvm_mmu_write_protect_pt_masked on
 * the rmaps, kvm_tdp_mmu_clear_dirty_pt_masked with wrprot under TDP; the model
 * has no PML, so the write-protect flavour, not the D-bit one); the lock dropped;
 * if a word was non-zero, kvm_flush_remote_tlbs_memslot; only then the copy to
 * userspace. A write through a TLB entry left from before the write protection
 * is fine until the ioctl returns (the page was reported, and is copied after);
 * after it, only the flush stops one.
 */
export function* kvmGetDirtyLogProtect(kvm: Kvm, log: DirtyLog, n: number): Task {
  yield* kvm.slotsLock.writeLock();
  const slot = loggedSlot(kvm, log);
  yield* kvm.mmuLock.writeLock();
  const taken: number[] = [];
  let flush = false;
  for (let word = slot.baseGfn; word < slot.baseGfn + slot.npages; word += BITS_PER_LONG) {
    // Race: faults setting bits (mark_page_dirty_in_slot, atomic) against the xchg.
    // Under the write lock no fault is making an SPTE, but the bit is set before
    // the SPTE in the kernel (make_spte), so the xchg is atomic all the same.
    yield opPair(WRITE, log.obj, READ, kvm.objMemslots);
    const mask: number[] = [];
    for (let g = word; g < Math.min(word + BITS_PER_LONG, slot.baseGfn + slot.npages); g++) {
      if (!log.bitmap.delete(g)) continue;
      mask.push(g);
      log.toCopy.add(g);
    }
    kvm.emit({ e: 'dirtyLogHarvest', slot: slot.id, n, phase: 'taken', gfns: mask, flush: 'none needed' });
    if (mask.length === 0) continue;
    flush = true;
    for (const g of mask) {
      // Race: guests walking this gfn's SPTEs in hardware (no lock) while the W bit goes.
      yield opWrite(kvm.mmu.spteObject(g));
      const was = kvm.mmu.writeProtectGfn(g);
      kvm.emit({ e: 'dirtyLogWrprot', gfn: g, by: 'KVM_GET_DIRTY_LOG', wasWritable: was });
    }
    taken.push(...mask);
  }
  yield* kvm.mmuLock.writeUnlockY();
  let how: WriteProtectFlush = flush ? 'done' : 'none needed';
  if (flush) {
    if (kvm.mutation.acts('dirty-log-no-flush')) how = 'skipped';
    else yield* kvmFlushRemoteTlbs(kvm, 'kvm_flush_remote_tlbs_memslot');
  }
  log.harvests++;
  kvm.emit({ e: 'dirtyLogHarvest', slot: slot.id, n, phase: 'returned', gfns: taken, flush: how });
  yield* kvm.slotsLock.writeUnlockY();
  yield* copyPages(kvm, log, slot, n);
}

/**
 * The VMM copies the pages it is to copy (after the enable, every page; after a
 * harvest, those it reported), one step each: a guest write to the page before
 * its copy is in it, one after must be logged for the next harvest.
 */
function* copyPages(kvm: Kvm, log: DirtyLog, slot: Memslot, n: number): Task {
  for (const g of [...log.toCopy].sort((a, b) => a - b)) {
    // Race: a guest write to the page (through its TLB, or its SPTE) against the
    // copy reading it: whichever comes first decides whether the copy has the write.
    yield opPair(READ, kvm.objHostPte(gfnToHva(slot, g)), WRITE, log.obj);
    log.toCopy.delete(g);
    log.lastCopy.set(g, n);
    kvm.emit({ e: 'dirtyLogCopy', slot: slot.id, n, gfn: g });
  }
}
