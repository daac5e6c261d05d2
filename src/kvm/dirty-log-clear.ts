import { type Op, opRead, opWrite } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { BITS_PER_LONG, type DirtyLog } from './dirty-log.js';
import { kvmArchMmuEnableLogDirtyPtMasked, kvmFlushRemoteTlbsMemslot, loggedSlot } from './dirty-log-ioctl.js';
import type { Kvm } from './kvm.js';

/**
 * @kernel kvm_vm_ioctl_clear_dirty_log → kvm_clear_dirty_log_protect (manual
 * protect): userspace hands back the bitmap it got from KVM_GET_DIRTY_LOG
 * (`mask`, the gfns to clear, copied in before the lock); under slots_lock and
 * mmu_lock (write), for each word with a bit in the mask, the bits cleared with
 * atomic_long_fetch_andnot, and the gfns whose bits were set and are now
 * cleared (the old value & mask: never a bit the bitmap did not hold) have
 * their leaves write-protected (kvm_arch_mmu_enable_log_dirty_pt_masked); the
 * lock dropped; if any was, kvm_flush_remote_tlbs_memslot before the ioctl
 * returns. The VMM copies the pages after it returns.
 */
export function* kvmClearDirtyLogProtect(kvm: Kvm, log: DirtyLog, n: number, mask: readonly number[]): Task {
  yield* kvm.slotsLock.writeLock();
  const slot = loggedSlot(kvm, log);
  yield* kvm.mmuLock.writeLock();
  const cleared: number[] = [];
  for (let word = slot.baseGfn; word < slot.baseGfn + slot.npages; word += BITS_PER_LONG) {
    const end = Math.min(word + BITS_PER_LONG, slot.baseGfn + slot.npages);
    const wordMask = mask.filter((g) => g >= word && g < end);
    if (wordMask.length === 0) continue;
    kvm.rt.charge(kvm.costs.dirtyBitmapWordNs);
    const { got, lost, plain } = yield* atomicLongFetchAndnot(kvm, log, slot.id, n, word, end, wordMask);
    kvm.emit({
      e: 'dirtyLogClear',
      slot: slot.id,
      n,
      phase: 'cleared',
      mask: wordMask,
      gfns: got,
      flush: 'none needed',
      ...(plain ? { plain: true as const } : {}),
      ...(lost.length > 0 ? { lost } : {}),
    });
    if (got.length === 0) continue;
    yield* kvmArchMmuEnableLogDirtyPtMasked(kvm, got, 'KVM_CLEAR_DIRTY_LOG');
    cleared.push(...got);
  }
  yield* kvm.mmuLock.writeUnlockY();
  const flush = yield* kvmFlushRemoteTlbsMemslot(kvm, cleared.length > 0, 'clear-dirty-log-no-flush');
  log.clears++;
  kvm.emit({ e: 'dirtyLogClear', slot: slot.id, n, phase: 'returned', mask: [...mask], gfns: cleared, flush });
  yield* kvm.slotsLock.writeUnlockY();
}

/**
 * @kernel atomic_long_fetch_andnot — one word of the bitmap, the gfns [word,
 * end), loses the bits of `mask` in one atomic step; returns those of them it
 * held (the old value & mask), and the bits of other gfns it overwrote (none
 * but under the mutant). The clear holds mmu_lock for write, so no fault
 * making an SPTE marks the word meanwhile, but fast_page_fault's
 * mark_page_dirty_in_slot comes after its cmpxchg under no lock at all
 * (DirtyLog.marking): only the atomicity keeps that mark, of a gfn of the same
 * word, from being overwritten. Mutant clear-dirty-log-plain-andnot reads the
 * word in one step and writes it back, less the mask, in another; the read is
 * an event of its own (phase 'read'), so that a mark between the two prints
 * between them, and the write back is the caller's 'cleared' event.
 */
function* atomicLongFetchAndnot(
  kvm: Kvm,
  log: DirtyLog,
  slot: number,
  n: number,
  word: number,
  end: number,
  mask: readonly number[],
): Generator<Op, { got: number[]; lost: number[]; plain: boolean }, void> {
  if (!kvm.mutation.has('clear-dirty-log-plain-andnot')) {
    // Race: fast_page_fault's lockless mark of a gfn of this word: before or
    // after the andnot, the atomic step keeps it.
    yield opWrite(log.obj);
    return { got: mask.filter((g) => log.bitmap.delete(g)), lost: [], plain: false };
  }
  // Race (the mutant's window): fast_page_fault's lockless mark landing between
  // the plain read of the word and its write back is overwritten.
  yield opRead(log.obj);
  const old = new Set<number>();
  for (let g = word; g < end; g++) if (log.bitmap.has(g)) old.add(g);
  kvm.emit({ e: 'dirtyLogClear', slot, n, phase: 'read', mask: [...mask], gfns: [...old], flush: 'none needed', plain: true, word: [word, end] });
  yield opWrite(log.obj);
  const lost: number[] = [];
  for (let g = word; g < end; g++) {
    // The bit as written back: as read, less the mask.
    const bit = old.has(g) && !mask.includes(g);
    // A bit outside the mask set since the read: overwritten.
    if (!bit && log.bitmap.has(g) && !mask.includes(g)) lost.push(g);
    if (bit) log.bitmap.add(g);
    else log.bitmap.delete(g);
  }
  if (lost.length > 0) kvm.mutation.tookEffect();
  return { got: mask.filter((g) => old.has(g)), lost, plain: true };
}
