import { type Op, opWrite } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { DirtyLog } from './dirty-log.js';
import { loggedSlot } from './dirty-log-ioctl.js';
import { KVM_DIRTY_GFN_F_DIRTY, KVM_DIRTY_GFN_F_RESET, type KvmDirtyRing } from './dirty-ring.js';
import { kvmVmIoctlResetDirtyPages } from './dirty-ring-reset.js';
import type { Kvm } from './kvm.js';

/** Who collects: the migration thread's round, or a vCPU thread back from KVM_EXIT_DIRTY_RING_FULL. */
export type DirtyRingCollector = 'migration' | 'exit';

/**
 * The VMM's reaping of the dirty rings (QEMU's kvm_dirty_ring_reap), under its
 * own lock: every vCPU's ring collected (the DIRTY entries from the fetch
 * index on, their gfns recorded in DirtyLog.collected, their flags set
 * RESET), then, if any was, KVM_RESET_DIRTY_RINGS, which write-protects those
 * gfns again and flushes before it returns. The migration thread's round
 * then hands what was collected to its copy (migrationBitmapSync), still
 * under the lock: a page is copied only once the reset that re-protected it
 * has returned (Documentation/virt/kvm/api.rst, KVM_CAP_DIRTY_LOG_RING: the
 * reset re-protects the collected gfns, so that a write after the copy faults
 * and is pushed again). A vCPU thread back from KVM_EXIT_DIRTY_RING_FULL reaps
 * the same way and leaves the hand-over to the migration's next round.
 * `beforeReset`, the mutant dirty-ring-copy-before-reset's hand-over and copy,
 * comes between the collection and the reset. Returns the gfns collected.
 */
export function* kvmDirtyRingReap(kvm: Kvm, log: DirtyLog, by: DirtyRingCollector, beforeReset?: () => Task): Generator<Op, number[], void> {
  const lock = log.vmmLock!;
  yield* lock.writeLock();
  const n = ++log.collections;
  const got: number[] = [];
  const rings = log.rings!;
  for (let i = 0; i < rings.length; i++) got.push(...(yield* dirtyRingCollect(kvm, log, rings[i]!, i, n, by)));
  if (got.length > 0) {
    if (beforeReset !== undefined) yield* beforeReset();
    yield* kvmVmIoctlResetDirtyPages(kvm, log, n);
  }
  if (by === 'migration') yield* migrationBitmapSync(kvm, log, n);
  yield* lock.writeUnlockY();
  return got;
}

/**
 * The migration thread's bitmap sync (QEMU's migration_bitmap_sync of the
 * slots' dirty_bmap): every gfn collected so far, by this round or by vCPUs
 * on KVM_EXIT_DIRTY_RING_FULL, each re-protected by a reset that has
 * returned, becomes a page to copy.
 */
export function* migrationBitmapSync(kvm: Kvm, log: DirtyLog, n: number): Task {
  if (log.collected.size === 0) return;
  // Race: vCPU threads' collections adding to the record (under the VMM's
  // lock, which the caller holds) and the copies reading what is to copy.
  yield opWrite(log.obj);
  const gfns = [...log.collected].sort((a, b) => a - b);
  for (const g of gfns) log.toCopy.add(g);
  log.collected.clear();
  kvm.emit({ e: 'dirtyRingSync', n, gfns });
}

/**
 * Userspace's collection of one vCPU's ring (QEMU's dirty_gfn_is_dirtied,
 * then dirty_gfn_set_collected): the entries from its fetch index on whose
 * flags are DIRTY, in order, each gfn recorded (DirtyLog.collected, QEMU's
 * slot dirty_bmap) and the entry's flags set RESET. Stops at the first entry
 * not DIRTY: one the vCPU has not pushed yet.
 */
function* dirtyRingCollect(kvm: Kvm, log: DirtyLog, ring: KvmDirtyRing, vcpu: number, n: number, by: DirtyRingCollector): Generator<Op, number[], void> {
  // Race: the vCPU's push (flags stored DIRTY with release, read here with
  // acquire): an entry pushed before this step is collected, one pushed after
  // waits for the next collection. One step for the ring: its one pusher
  // adds entries only at the end.
  yield opWrite(log.obj);
  const slot = loggedSlot(kvm, log);
  const gfns: number[] = [];
  for (;;) {
    const e = ring.entry(ring.fetchIndex);
    if (e.flags !== KVM_DIRTY_GFN_F_DIRTY) break;
    const gfn = slot.baseGfn + e.offset;
    gfns.push(gfn);
    log.collected.add(gfn);
    e.flags = KVM_DIRTY_GFN_F_RESET;
    ring.fetchIndex++;
  }
  if (gfns.length > 0) kvm.emit({ e: 'dirtyRingCollect', vcpu, n, gfns, by });
  return gfns;
}
