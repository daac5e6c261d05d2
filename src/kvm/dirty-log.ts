import { modelAssert } from '../runtime/model-bug.js';
import { RwLock } from '../runtime/rwlock.js';
import { SectionArray } from '../runtime/section-array.js';
import { SparseBitmap } from '../runtime/sparse-bitmap.js';
import { KvmDirtyRing, kvmDirtyRingPush } from './dirty-ring.js';
import type { Kvm } from './kvm.js';
import type { Memslot } from './memslots.js';

/** Bits per word of the dirty bitmap (BITS_PER_LONG): KVM_GET_DIRTY_LOG takes one word at a time. */
export const BITS_PER_LONG = 64;

/**
 * Who write-protects what the bitmap reported (host.dirtyLog.protect):
 * - `get`: KVM_GET_DIRTY_LOG itself (manual protect off, the bitmap initially clear);
 * - `manual`: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE:
 *   KVM_GET_DIRTY_LOG only copies the bitmap out, and KVM_CLEAR_DIRTY_LOG clears and
 *   write-protects what userspace hands back (kvm->manual_dirty_log_protect);
 * - `manual-initially-set`: the same with KVM_DIRTY_LOG_INITIALLY_SET: the bitmap starts
 *   all set and enabling logging write-protects nothing
 *   (kvm_dirty_log_manual_protect_and_init_set).
 */
export type DirtyLogProtect = 'get' | 'manual' | 'manual-initially-set';

/** Every value of DirtyLogProtect, the kernel's default (manual protect off) first. */
export const DIRTY_LOG_PROTECTS = ['get', 'manual', 'manual-initially-set'] as const satisfies readonly DirtyLogProtect[];

/**
 * Where dirty gfns go (host.dirtyLog.mode): `bitmap`, memslot->dirty_bitmap,
 * harvested with KVM_GET_DIRTY_LOG; `ring`, KVM_CAP_DIRTY_LOG_RING: each
 * vCPU's ring, collected by userspace and recycled with KVM_RESET_DIRTY_RINGS
 * (no bitmap: kvm_use_dirty_bitmap is false without
 * KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP).
 */
export type DirtyLogMode = 'bitmap' | 'ring';

/** Every value of DirtyLogMode, the default first. */
export const DIRTY_LOG_MODES = ['bitmap', 'ring'] as const satisfies readonly DirtyLogMode[];

/**
 * Dirty logging of one memslot (KVM_MEM_LOG_DIRTY_PAGES), write-protect flavour:
 * no PML; KVM_CLEAR_DIRTY_LOG and KVM_DIRTY_LOG_INITIALLY_SET as `protect`
 * says; a dirty ring per vCPU instead of the bitmap when `rings` is set. Exists only in a world whose scenario logs a slot
 * (host.dirtyLog): everywhere else Kvm.dirtyLog is null and no path pays for it.
 * @kernel virt/kvm/kvm_main.c struct kvm_memory_slot.dirty_bitmap
 */
export class DirtyLog {
  /** The flag is set: faults that make a writable SPTE in the slot mark its gfn dirty (kvm_slot_dirty_track_enabled). */
  enabled = false;
  /**
   * The enabling KVM_SET_USER_MEMORY_REGION returned to userspace: from then on
   * the VMM's first full copy of guest memory is taken, and a write is logged or lost.
   */
  enableReturned = false;
  /** memslot->dirty_bitmap: the gfns marked dirty since the last harvest (under manual protect, the last clear) took them. */
  readonly bitmap = new SparseBitmap();
  /**
   * Pages the VMM is still to copy: every page of the slot from the enabling
   * ioctl on (its first full copy; none with KVM_DIRTY_LOG_INITIALLY_SET, whose
   * set bits make the first harvest report each), and what a harvest took from
   * the bitmap (the second bitmap, kvm_second_dirty_bitmap, then the bitmap
   * userspace got; under manual protect, what the read of the live bitmap found,
   * copied once KVM_CLEAR_DIRTY_LOG has returned), until the VMM's copy of each.
   * A write to one of them before its copy is in the copy: not lost.
   */
  readonly toCopy = new SparseBitmap();
  /** By offset in the logged slot, 1 + the ioctl after which the VMM last copied the page (see `copied`); 0 never. */
  private readonly lastCopy = new SectionArray(0, Int32Array);
  /**
   * By gfn, the vCPUs between fast_page_fault's cmpxchg that made a leaf of it
   * writable and their mark_page_dirty_in_slot (fast_pf_fix_direct_spte): marks
   * still to come, which report the page to a later harvest.
   */
  readonly marking = new Map<number, number>();
  /** KVM_GET_DIRTY_LOG calls that have returned. */
  harvests = 0;
  /** KVM_CLEAR_DIRTY_LOG calls that have returned (manual protect only). */
  clears = 0;
  /**
   * Object id of the bitmap: faults set bits without mmu_lock, the harvest
   * clears them. Under `ring`, of the rings (and the VMM's record of what it
   * collected, which vCPU threads back from a full ring add to): a vCPU's
   * push, the VMM's collection and KVM_RESET_DIRTY_RINGS each announce it.
   * The VMM's copy of a page does not: what is left to copy (toCopy) and what
   * was copied (lastCopy) are the migration thread's own.
   */
  readonly obj: number;
  /** KVM_CAP_DIRTY_LOG_RING: each vCPU's dirty ring, by vCPU index; null under `bitmap`. */
  readonly rings: KvmDirtyRing[] | null;
  /**
   * Under `ring`, the VMM's lock around a collection and its
   * KVM_RESET_DIRTY_RINGS (QEMU's kvm_slots_lock, with the BQL): its
   * migration thread and a vCPU thread back from KVM_EXIT_DIRTY_RING_FULL
   * collect in turn. Null under `bitmap`.
   */
  readonly vmmLock: RwLock | null;
  /**
   * Under `ring`: gfns the VMM collected from the rings and has not yet handed
   * to its migration's copy (QEMU's per-slot dirty_bmap, which the migration
   * thread's bitmap sync moves to the pages to copy once the collection's
   * KVM_RESET_DIRTY_RINGS has returned). A write to one of them is reported.
   */
  readonly collected = new Set<number>();
  /** Dirty-ring collections by the VMM (its migration thread's, and vCPU threads' on KVM_EXIT_DIRTY_RING_FULL). */
  collections = 0;

  constructor(
    kvm: Kvm,
    /** The logged memslot's id. */
    readonly slotId: number,
    /** Who write-protects what the bitmap reported. */
    readonly protect: DirtyLogProtect = 'get',
    /** Under `ring`: the vCPUs, each ring's entries and its reserve above the soft limit. */
    ring?: { vcpus: number; size: number; reserve?: number },
  ) {
    this.obj = kvm.rt.objects.id(ring === undefined ? 'dirty_bitmap' : 'dirty_rings');
    this.rings = ring === undefined ? null : Array.from({ length: ring.vcpus }, () => new KvmDirtyRing(ring.size, ring.reserve));
    this.vmmLock = ring === undefined ? null : new RwLock(kvm.rt, 'QEMU kvm_slots_lock');
  }

  /** Where dirty gfns go. */
  get mode(): DirtyLogMode {
    return this.rings === null ? 'bitmap' : 'ring';
  }

  /** Whether a dirty ring holds gfn, pushed and not yet collected: a collection still to come reports it. */
  ringHolds(gfn: number, slot: Memslot): boolean {
    return this.rings?.some((r) => r.holdsDirty(slot.id, gfn - slot.baseGfn)) ?? false;
  }

  /** @kernel kvm_dirty_log_manual_protect_and_init_set — the bitmap starts all set, enabling logging write-protects nothing. */
  get manualProtectAndInitSet(): boolean {
    return this.protect === 'manual-initially-set';
  }

  /** kvm->manual_dirty_log_protect — KVM_GET_DIRTY_LOG leaves the clearing and write protection to KVM_CLEAR_DIRTY_LOG. */
  get manualDirtyLogProtect(): boolean {
    return this.protect !== 'get';
  }

  /** The VMM copied gfn of the logged slot `slot` after ioctl `n` (0 the enabling one, n KVM_GET_DIRTY_LOG #n). */
  copied(slot: Memslot, gfn: number, n: number): void {
    // By the gfn's offset in the slot, as the kernel indexes its bitmap, and n + 1: 0 is never copied.
    this.lastCopy.set(gfn - slot.baseGfn, n + 1);
  }

  /** The ioctl after which the VMM last copied gfn (as `copied` says), or undefined when it has not copied it or `slot` is not the logged one. */
  lastCopyOf(slot: Memslot | undefined, gfn: number): number | undefined {
    if (slot === undefined || !this.covers(slot)) return undefined;
    const c = this.lastCopy.get(gfn - slot.baseGfn);
    return c === 0 ? undefined : c - 1;
  }

  /** Whether gfn lies in the logged slot (as the memslots hold it now). */
  covers(slot: Memslot | undefined): boolean {
    return slot !== undefined && slot.id === this.slotId;
  }
}

/** @kernel kvm_slot_dirty_track_enabled — the slot's writes are being logged. */
export function kvmSlotDirtyTrackEnabled(kvm: Kvm, slot: Memslot | undefined): boolean {
  const log = kvm.dirtyLog;
  return log?.enabled === true && log.covers(slot);
}

/**
 * @kernel make_spte → mark_page_dirty_in_slot — a writable SPTE is being made for
 * gfn in a logged slot: its bit is set (set_bit_le, atomic, under no lock of its
 * own) before the SPTE is stored, in the same step (the caller holds mmu_lock:
 * read for the TDP MMU's cmpxchg, write for the shadow MMU; the harvest holds it
 * for write, so the two never interleave). With a dirty ring the gfn goes to
 * the running vCPU's ring instead (kvm_dirty_ring_push; every mark in the
 * model has a vCPU: the bitmap would take only those without one, under
 * KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP, which the model leaves out).
 */
export function markPageDirtyInSlot(kvm: Kvm, vcpu: number, slot: Memslot | undefined, gfn: number, wpFault = false, fast = false): void {
  if (!kvmSlotDirtyTrackEnabled(kvm, slot)) return;
  const log = kvm.dirtyLog!;
  const v = kvm.vcpus[vcpu];
  if (log.rings !== null) {
    modelAssert(v !== undefined, `mark_page_dirty_in_slot: no running vCPU${vcpu} for the dirty ring (KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP is not modelled)`);
    kvmDirtyRingPush(kvm, v, log.rings[vcpu]!, slot!.id, gfn - slot!.baseGfn, gfn, wpFault);
    return;
  }
  const was = log.bitmap.has(gfn);
  log.bitmap.add(gfn);
  kvm.emit({ e: 'markPageDirty', vcpu, gfn, slot: log.slotId, already: was, wpFault, ...(fast ? { fast } : {}) });
}
