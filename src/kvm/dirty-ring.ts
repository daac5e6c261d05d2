import { modelAssert } from '../runtime/model-bug.js';
import type { Kvm } from './kvm.js';
import { KVM_REQ_DIRTY_RING_SOFT_FULL } from './requests.js';
import type { Vcpu } from './vcpu.js';
import { kvmCheckRequest, kvmMakeRequest } from './vcpu-requests.js';

/** kvm_dirty_gfn.flags: the entry holds a gfn userspace has not collected yet. */
export const KVM_DIRTY_GFN_F_DIRTY = 1;
/** kvm_dirty_gfn.flags: userspace collected the entry; KVM_RESET_DIRTY_RINGS may re-protect its gfn. */
export const KVM_DIRTY_GFN_F_RESET = 2;

/**
 * Entries kept free above the soft limit, the kernel's part: for what a vCPU
 * may push between the push that makes its ring soft full and the request
 * check that stops it (several marks in one exit's handling).
 * kvm_dirty_ring_get_rsvd_entries adds kvm_cpu_dirty_log_size(), the PML
 * buffer's 512 entries on Intel with PML; the model has no PML, so nothing.
 */
export const KVM_DIRTY_RING_RSVD_ENTRIES = 64;

/** The smallest ring KVM_CAP_DIRTY_LOG_RING takes, in entries: a page (PAGE_SIZE) of 16-byte struct kvm_dirty_gfn. */
export const KVM_DIRTY_RING_MIN_ENTRIES = 256;

/** The largest ring KVM_CAP_DIRTY_LOG_RING takes, in entries. */
export const KVM_DIRTY_RING_MAX_ENTRIES = 65536;

/**
 * The entries a ring of `size` reserves (soft limit = size less these) when
 * the scenario gives none (`given`): the kernel's reserve without PML for a
 * ring of a size the kernel takes; none for a ring below the kernel's floor,
 * which only the model's small check worlds use, so that a 2-entry ring still
 * reaches its soft-full exit. A model vCPU pushes at most one entry per trip
 * into the guest and back and checks the request before it enters again, so
 * even no reserve keeps the ring of a vCPU that honours the request from
 * overflowing.
 */
export function dirtyRingReserve(size: number, given: number | undefined): number {
  return given ?? (size >= KVM_DIRTY_RING_MIN_ENTRIES ? KVM_DIRTY_RING_RSVD_ENTRIES : 0);
}

/** One struct kvm_dirty_gfn of a ring, shared with userspace (mmap'd). */
export interface KvmDirtyGfn {
  /** 0 (invalid), KVM_DIRTY_GFN_F_DIRTY or KVM_DIRTY_GFN_F_RESET. */
  flags: number;
  /** The memslot id (as_id << 16 | id; the model has one address space). */
  slot: number;
  /** The gfn's offset in the memslot. */
  offset: number;
}

/**
 * struct kvm_dirty_ring of one vCPU (KVM_CAP_DIRTY_LOG_RING): the entries
 * the vCPU pushes as it dirties pages, which userspace collects and
 * KVM_RESET_DIRTY_RINGS recycles. Every field is read and written under
 * DirtyLog.obj: the vCPU's push, the VMM's collection and the reset each
 * announce it.
 * @kernel include/linux/kvm_dirty_ring.h struct kvm_dirty_ring
 */
export class KvmDirtyRing {
  /** dirty_gfns: `size` entries, indexed by an index & (size - 1). */
  readonly dirtyGfns: KvmDirtyGfn[];
  /** dirty_index: the next entry a push fills (free-running). */
  dirtyIndex = 0;
  /** reset_index: the next entry KVM_RESET_DIRTY_RINGS recycles (free-running). */
  resetIndex = 0;
  /** Userspace's own fetch index (QEMU's per-vCPU kvm_fetch_index): the next entry it collects. */
  fetchIndex = 0;
  /** soft_limit: from this many used entries on, the vCPU may not enter the guest (size less the reserve). */
  readonly softLimit: number;

  constructor(
    /** size: entries, a power of two. */
    readonly size: number,
    /** Entries kept back above the soft limit (kvm_dirty_ring_get_rsvd_entries). */
    reserve = 0,
  ) {
    modelAssert(size >= 2 && (size & (size - 1)) === 0, `dirty ring size ${size}: expected a power of two, 2 or more`);
    modelAssert(reserve >= 0 && reserve <= size - 2, `dirty ring reserve ${reserve} of ${size} entries: expected a soft limit of 2 or more`);
    this.dirtyGfns = Array.from({ length: size }, () => ({ flags: 0, slot: 0, offset: 0 }));
    this.softLimit = size - reserve;
  }

  /** The entry at a free-running index. */
  entry(index: number): KvmDirtyGfn {
    return this.dirtyGfns[index & (this.size - 1)]!;
  }

  /** @kernel kvm_dirty_ring_used — entries pushed and not yet reset. */
  used(): number {
    return this.dirtyIndex - this.resetIndex;
  }

  /** @kernel kvm_dirty_ring_soft_full */
  softFull(): boolean {
    return this.used() >= this.softLimit;
  }

  /** @kernel kvm_dirty_ring_full — the next push would overwrite an entry not yet reset. */
  full(): boolean {
    return this.used() >= this.size;
  }

  /** Whether an entry pushed and not yet collected holds gfn `offset` of `slot` (a collection still to come reports it). */
  holdsDirty(slot: number, offset: number): boolean {
    return this.dirtyGfns.some((e) => e.flags === KVM_DIRTY_GFN_F_DIRTY && e.slot === slot && e.offset === offset);
  }
}

/**
 * @kernel mark_page_dirty_in_slot → kvm_dirty_ring_push — with a vCPU running,
 * the dirty gfn goes to that vCPU's ring, not the bitmap: the entry's slot and
 * offset, then (after smp_wmb) its flags set DIRTY, publishing it to
 * userspace; dirty_index advances, and once the ring is soft full the vCPU
 * requests KVM_REQ_DIRTY_RING_SOFT_FULL of itself, so that it leaves for
 * userspace before it enters the guest again. The kernel WARNs on a push to a
 * full ring (the soft limit and its reserve are to make that impossible); the
 * model asserts it, except under dirty-ring-no-soft-full-exit, where the push
 * overwrites the oldest entry as the kernel's store would, losing its gfn if
 * userspace had not collected it.
 * The caller's step announces DirtyLog.obj (the ring is shared with the VMM's
 * collection and KVM_RESET_DIRTY_RINGS); the request is the vCPU's own.
 */
export function kvmDirtyRingPush(kvm: Kvm, vcpu: Vcpu, ring: KvmDirtyRing, slot: number, offset: number, gfn: number, wpFault: boolean): void {
  const full = ring.full();
  modelAssert(
    !full || kvm.mutation.has('dirty-ring-no-soft-full-exit'),
    `kvm_dirty_ring_push: vCPU${vcpu.id}'s ring is full (its soft-full exit did not stop the push)`,
  );
  const e = ring.entry(ring.dirtyIndex);
  // The gfn of an uncollected entry the push overwrites (the ring's one slot: gfn less offset is its base).
  const overwrote = full && e.flags === KVM_DIRTY_GFN_F_DIRTY ? gfn - offset + e.offset : -1;
  const index = ring.dirtyIndex;
  e.slot = slot;
  e.offset = offset;
  e.flags = KVM_DIRTY_GFN_F_DIRTY;
  ring.dirtyIndex++;
  const softFull = ring.softFull();
  kvm.emit({
    e: 'dirtyRingPush',
    vcpu: vcpu.id,
    gfn,
    slot,
    offset,
    index,
    resetIndex: ring.resetIndex,
    size: ring.size,
    softFull,
    wpFault,
    ...(overwrote >= 0 ? { overwrote } : {}),
  });
  if (softFull) kvmMakeRequest(vcpu, KVM_REQ_DIRTY_RING_SOFT_FULL);
}

/**
 * @kernel kvm_dirty_ring_check_request — first of vcpu_enter_guest's request
 * checks: while the ring is soft full the request is made again and the vCPU
 * returns to userspace with KVM_EXIT_DIRTY_RING_FULL instead of entering; it
 * stays out until KVM_RESET_DIRTY_RINGS has recycled enough entries. The
 * request left over from a push the reset has since made room for is cleared.
 * Mutant dirty-ring-no-soft-full-exit clears the request and enters anyway.
 */
export function kvmDirtyRingCheckRequest(vcpu: Vcpu, ring: KvmDirtyRing): boolean {
  if (!kvmCheckRequest(vcpu, KVM_REQ_DIRTY_RING_SOFT_FULL)) return false;
  if (!ring.softFull()) {
    vcpu.kvm.emit({ e: 'dirtyRingRoom', vcpu: vcpu.id, used: ring.used() });
    return false;
  }
  if (vcpu.kvm.mutation.acts('dirty-ring-no-soft-full-exit')) return false;
  kvmMakeRequest(vcpu, KVM_REQ_DIRTY_RING_SOFT_FULL);
  vcpu.kvm.emit({ e: 'dirtyRingExit', vcpu: vcpu.id, used: ring.used() });
  return true;
}
