import { type Op, opWrite } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { BITS_PER_LONG, type DirtyLog } from './dirty-log.js';
import { kvmArchMmuEnableLogDirtyPtMasked, kvmFlushRemoteTlbsMemslot, loggedSlot } from './dirty-log-ioctl.js';
import { KVM_DIRTY_GFN_F_RESET, type KvmDirtyRing } from './dirty-ring.js';
import type { Kvm } from './kvm.js';

/**
 * @kernel kvm_vm_ioctl_reset_dirty_pages (KVM_RESET_DIRTY_RINGS) — under
 * slots_lock (which serialises resets, so that every entry one call processed
 * is re-protected before it returns), each vCPU's ring reset in turn
 * (kvm_dirty_ring_reset); slots_lock dropped; then, if any entry was reset,
 * kvm_flush_remote_tlbs before the ioctl returns. The flush is what makes the
 * re-protection hold: a TLB entry that allows writes outlives the SPTE's W
 * bit, and a write through it after the VMM's copy of the page is never
 * pushed. Mutant dirty-ring-reset-no-flush leaves it out. `n` numbers the
 * VMM's collections (for the step log). Returns the entries reset.
 */
export function* kvmVmIoctlResetDirtyPages(kvm: Kvm, log: DirtyLog, n: number): Generator<Op, number, void> {
  const rings = log.rings!;
  yield* kvm.slotsLock.writeLock();
  let cleared = 0;
  for (let i = 0; i < rings.length; i++) cleared += yield* kvmDirtyRingReset(kvm, log, rings[i]!, i, n);
  yield* kvm.slotsLock.writeUnlockY();
  const flush = yield* kvmFlushRemoteTlbsMemslot(kvm, cleared > 0, 'dirty-ring-reset-no-flush', 'KVM_RESET_DIRTY_RINGS');
  kvm.emit({ e: 'dirtyRingReset', vcpu: -1, n, phase: 'returned', gfns: [], entries: cleared, flush });
  return cleared;
}

/**
 * @kernel kvm_dirty_ring_reset — from reset_index on, while the entry is
 * harvested (flags RESET, set by userspace's collection), its slot and offset
 * are read, its flags cleared (the entry free for a push again) and
 * reset_index advanced; consecutive entries of one slot are gathered into one
 * mask of BITS_PER_LONG gfns while they fit: one at or above the mask's base
 * and less than BITS_PER_LONG past it is added; one below the base (by less
 * than BITS_PER_LONG) moves the base down to it when the bits already held,
 * shifted up, still fit in the word (a guest writing downwards batches as one
 * writing upwards does); any other entry ends the mask, whose leaves are
 * write-protected (kvm_reset_dirty_gfn), and starts the next. An entry still DIRTY, pushed after userspace's
 * collection, stops the walk: its gfn stays writable until a later reset.
 * The KVM_REQ_DIRTY_RING_SOFT_FULL left on the vCPU is cleared by the vCPU
 * at its next entry. Returns the entries reset.
 */
function* kvmDirtyRingReset(kvm: Kvm, log: DirtyLog, ring: KvmDirtyRing, vcpu: number, n: number): Generator<Op, number, void> {
  // Resets are serialised, so that every entry one call processed is re-protected before it returns.
  kvm.slotsLock.assertWriteHeld('kvm_dirty_ring_reset');
  let count = 0;
  let curSlot = -1;
  let curOffset = 0;
  let mask: number[] = [];
  for (;;) {
    // Race: the vCPU's push (a fault's make_spte, fast_page_fault's mark)
    // against the walk: the reset reads each entry's flags with acquire, and an
    // entry pushed after the collection is DIRTY, not RESET, so the walk stops.
    yield opWrite(log.obj);
    const e = ring.entry(ring.resetIndex);
    if ((e.flags & KVM_DIRTY_GFN_F_RESET) === 0) break;
    const nextSlot = e.slot;
    const nextOffset = e.offset;
    e.flags = 0;
    ring.resetIndex++;
    count++;
    kvm.rt.charge(kvm.costs.dirtyRingEntryNs);
    // The vCPU's soft-full check counts the entry out from here, before its gfn's mask is write-protected.
    const slot = loggedSlot(kvm, log);
    if (nextSlot === slot.id)
      kvm.emit({ e: 'dirtyRingReset', vcpu, n, phase: 'entry', gfns: [slot.baseGfn + nextOffset], entries: ring.resetIndex, flush: 'none needed' });
    if (mask.length > 0 && nextSlot === curSlot) {
      const delta = nextOffset - curOffset;
      if (delta >= 0 && delta < BITS_PER_LONG) {
        if (!mask.includes(delta)) mask.push(delta);
        continue;
      }
      // Backwards: an entry below the mask's base moves the base down to it,
      // if every bit the mask holds still fits in one word when shifted up.
      if (delta < 0 && delta > -BITS_PER_LONG && Math.max(...mask) - delta < BITS_PER_LONG) {
        mask = [0, ...mask.map((bit) => bit - delta)];
        curOffset = nextOffset;
        continue;
      }
    }
    if (mask.length > 0) yield* kvmResetDirtyGfn(kvm, log, curSlot, curOffset, mask, vcpu, n);
    curSlot = nextSlot;
    curOffset = nextOffset;
    mask = [0];
  }
  if (mask.length > 0) yield* kvmResetDirtyGfn(kvm, log, curSlot, curOffset, mask, vcpu, n);
  // The kernel's tracepoint of the ring's reset: once per ring and call, after its last mask.
  kvm.emit({ e: 'dirtyRingReset', vcpu, n, phase: 'ring', entries: count, dirtyIndex: ring.dirtyIndex, resetIndex: ring.resetIndex });
  return count;
}

/**
 * @kernel kvm_reset_dirty_gfn — the gfns of one mask (bits relative to
 * `offset` in memslot `slot`) write-protected under mmu_lock held for write
 * (kvm_arch_mmu_enable_log_dirty_pt_masked, the same as the bitmap's ioctls),
 * so that the guest's next write to each faults and is pushed again.
 */
function* kvmResetDirtyGfn(kvm: Kvm, log: DirtyLog, slot: number, offset: number, mask: readonly number[], vcpu: number, n: number): Task {
  const memslot = loggedSlot(kvm, log);
  if (slot !== memslot.id) return;
  const gfns = mask.map((bit) => memslot.baseGfn + offset + bit).sort((a, b) => a - b);
  yield* kvm.mmuLock.writeLock();
  kvm.emit({ e: 'dirtyRingReset', vcpu, n, phase: 'mask', gfns, entries: gfns.length, flush: 'none needed' });
  yield* kvmArchMmuEnableLogDirtyPtMasked(kvm, gfns, 'KVM_RESET_DIRTY_RINGS');
  yield* kvm.mmuLock.writeUnlockY();
}
