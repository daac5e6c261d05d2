import { op2, opWrite, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import type { Kvm } from './kvm.js';
import { KVM_MEMSLOT_INVALID, type Memslot } from './memslots.js';
import { kvmMmuInvalidateMmioSptes } from './mmio-spte.js';

/** A memslot change the VMM makes (KVM_SET_USER_MEMORY_REGION). */
export type MemslotOp =
  | { op: 'delete'; slot: number }
  | { op: 'move'; slot: number; baseGfn: number }
  | { op: 'create'; slot: number; baseGfn: number; pages: number; hvaPage: number };

/**
 * @kernel kvm_swap_active_memslots — wait until no notifier invalidation is
 * between start and end (else begin and end could see different slots), publish
 * the new set with the old generation and the update-in-progress bit, wait out
 * the SRCU readers of the old set, then kvm_arch_memslots_updated with the final
 * generation (the MMIO generation wrap), and store it.
 */
function* kvmSwapActiveMemslots(kvm: Kvm, slots: readonly Memslot[], what: string): Task {
  // Race: notifiers counting themselves in and out of mn_active_invalidate_count,
  // and faults and notifiers reading the memslots pointer. The test that finds no
  // invalidation between start and end and the publish are one step, as both are
  // under mn_invalidate_lock: a start counted in between would read the old set
  // and its end the new one.
  yield* kvm.mnMemslotsUpdateWait.stepUntil(() => kvm.mnActiveInvalidateCount === 0, op2(WRITE, kvm.objMnActive, kvm.objMemslots));
  const gen = kvm.memslots.generation + 1;
  kvm.memslots = kvm.memslots.with(slots);
  // The mutant publishes the final generation at once (before 2014's fix): a fault
  // that found no memslot in the old set stamps its MMIO SPTE with it.
  if (kvm.mutation.acts('memslot-gen-no-update-in-progress')) {
    kvm.memslots.generation = gen;
    kvm.memslots.updateInProgress = false;
  }
  kvm.emit({ e: 'memslotsPublish', generation: kvm.memslots.generation, inProgress: kvm.memslots.updateInProgress, what });
  kvm.rt.charge(kvm.costs.srcuSyncNs);
  yield* kvm.srcu.synchronize();
  yield* kvmMmuInvalidateMmioSptes(kvm, gen);
  // Race: vCPUs reading the generation without a lock (make_mmio_spte under
  // mmu_lock, check_mmio_spte in the MMIO fast path): until this store they see
  // the update in progress. Without MMIO caching nothing reads it but the swap.
  if (kvm.settings.mmioCaching) yield opWrite(kvm.objMemslots);
  kvm.memslots.generation = gen;
  kvm.memslots.updateInProgress = false;
  if (kvm.listens('memslotsGeneration')) kvm.emit({ e: 'memslotsGeneration', generation: gen });
}

/**
 * @kernel __kvm_set_memory_region → kvm_invalidate_memslot — for delete and move:
 * swap in an INVALID copy (faults on it retry), flush the slot's shadow pages,
 * then commit the final set.
 */
export function* kvmSetMemoryRegion(kvm: Kvm, change: MemslotOp): Task {
  yield* kvm.slotsLock.writeLock();
  kvm.emit({ e: 'memslotChange', op: change.op, slot: change.slot, phase: 'begin' });
  const cur = kvm.memslots.slots;
  const old = cur.find((s) => s.id === change.slot);
  if (change.op === 'create') {
    if (old === undefined) {
      const slot: Memslot = { id: change.slot, baseGfn: change.baseGfn, npages: change.pages, hvaPage: change.hvaPage, flags: 0 };
      yield* kvmSwapActiveMemslots(kvm, [...cur, slot], `memslot ${change.slot} added`);
    }
  } else if (old !== undefined) {
    const invalid: Memslot = { ...old, flags: old.flags | KVM_MEMSLOT_INVALID };
    yield* kvmSwapActiveMemslots(
      kvm,
      cur.map((s) => (s === old ? invalid : s)),
      `memslot ${change.slot} KVM_MEMSLOT_INVALID`,
    );
    kvm.emit({ e: 'memslotChange', op: change.op, slot: change.slot, phase: 'invalid' });
    const rest = kvm.memslots.slots.filter((s) => s.id !== change.slot);
    const final = change.op === 'move' ? [...rest, { ...old, baseGfn: change.baseGfn }] : rest;
    const publish = () =>
      kvmSwapActiveMemslots(
        kvm,
        final,
        change.op === 'move' ? `memslot ${change.slot} at gfn 0x${change.baseGfn.toString(16)}` : `memslot ${change.slot} gone`,
      );
    // The mutant commits the final set first, while the old slot's SPTEs still map.
    const early = kvm.mutation.acts('memslot-publish-before-zap');
    if (early) yield* publish();
    yield* kvm.mmu.flushShadowMemslot(old);
    kvm.emit({ e: 'memslotChange', op: change.op, slot: change.slot, phase: 'flushed' });
    if (!early) yield* publish();
  }
  kvm.emit({ e: 'memslotChange', op: change.op, slot: change.slot, phase: 'done' });
  yield* kvm.slotsLock.writeUnlockY();
}
