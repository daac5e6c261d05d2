import type { Op } from '../runtime/op.js';
import type { DirtyLogWrprotBy, RetPf } from './events.js';
import type { LeafSpte } from './fast-page-fault.js';
import type { GuestExitKind } from './guest-paging.js';
import type { Memslot } from './memslots.js';
import type { Vcpu } from './vcpu.js';

/** The fault as it travels through the fault path (struct kvm_page_fault). */
export interface PageFault {
  // arguments
  /** Faulting guest frame. */
  readonly gfn: number;
  readonly write: boolean;
  /** PFERR_PRESENT: a present SPTE refused the access (the EPT violation's readable bit; a write to a write-protected leaf). */
  readonly present: boolean;
  // derived
  /** mmu_invalidate_seq snapshot taken before looking up the pfn. */
  mmuSeq: number;
  /** Memslot of gfn, if any. */
  slot: Memslot | undefined;
  /** Host virtual page of gfn. */
  hva: number;
  // outputs
  /** Host pfn looked up without mmu_lock. */
  pfn: number;
}

/**
 * What differs between the TDP MMU and the shadow MMU, behind one seam. The
 * protocol around it (notifiers, fault retry, requests, VM-entry) is shared.
 */
export interface MmuBackend {
  /** mmu_lock mode faults take: read for the TDP MMU, write for the shadow MMU. */
  readonly faultTakesWriteLock: boolean;
  /** How a walk that finds no usable leaf exits: an EPT violation (TDP) or an intercepted #PF (shadow). */
  readonly faultExit: 'ept-violation' | 'pf-intercept';
  /** How a write that a present, read-only leaf refuses exits: a #PF with P|W (shadow) or an EPT violation on a read-only entry (TDP). */
  readonly writeProtectExit: 'write-protect' | 'ept-write-protect';
  /** How a walk that reaches an MMIO SPTE exits: an EPT misconfiguration (TDP) or a #PF with a reserved bit (shadow). */
  readonly mmioExit: 'ept-misconfig' | 'pf-rsvd';
  /**
   * The guest's hardware walk through the vCPU's current root: pfn or -1 (also for
   * a write through a read-only leaf), or an MMIO SPTE (mmio-spte.ts: <= -2). In a
   * world that ages pages it sets the A bit of the present leaf it reaches, a write
   * the leaf refuses included (the SDM: the processor sets the accessed flag of an
   * entry it uses as part of a translation, and the walk used the leaf to find the
   * write refused); `hardware` false is a software read of the same SPTEs
   * (handle_mmio_page_fault's lockless walk, a trace's second look): no A bit.
   */
  walk(vcpu: Vcpu, gfn: number, write?: boolean, hardware?: boolean): number;
  /** After a walk that found a leaf: whether the leaf allows writes (a TLB entry filled from it does). */
  readonly walkWritable: boolean;
  /** Object ids the walk of gfn reads (for the checker's footprints). */
  spteObject(gfn: number): number;
  /** Installs the mapping under mmu_lock (is_page_fault_stale already passed); a fault with no memslot, an MMIO SPTE ('emulate'). */
  map(vcpu: Vcpu, fault: PageFault): Generator<Op, RetPf, void>;
  /** kvm_unmap_gfn_range's arch part under the write lock; returns "flush needed". */
  unmapGfnRange(start: number, end: number, canYield: boolean): Generator<Op, boolean, void>;
  /** kvm_mmu_reload: gives the vCPU a current root if it has none. */
  reloadRoot(vcpu: Vcpu): Generator<Op, void, void>;
  /** The vCPU's current root is invalid or obsolete (is_page_fault_stale's first test). */
  currentRootObsolete(vcpu: Vcpu): boolean;
  /** KVM_REQ_MMU_FREE_OBSOLETE_ROOTS handler. */
  freeObsoleteRoots(vcpu: Vcpu): Generator<Op, void, void>;
  /** KVM_REQ_MMU_RELOAD handler (kvm_mmu_unload): frees every root of the vCPU. */
  unloadRoots(vcpu: Vcpu): Generator<Op, void, void>;
  /**
   * kvm_mmu_zap_all_fast's part under mmu_lock (write), after mmu_valid_gen was
   * toggled (`genBumped`): make the old roots obsolete, ask every vCPU to drop
   * them, and zap what is zapped under the write lock.
   */
  zapAllFastLocked(genBumped: boolean): Generator<Op, void, void>;
  /** kvm_mmu_zap_all_fast's part after mmu_lock is dropped. */
  zapAllFastUnlocked(): Generator<Op, void, void>;
  /** kvm_arch_flush_shadow_memslot for a slot being deleted or moved. */
  flushShadowMemslot(slot: Memslot): Generator<Op, void, void>;
  /**
   * Dirty logging being enabled (kvm_mmu_slot_remove_write_access): every leaf of
   * the slot made read-only, taking mmu_lock as the MMU does; returns how many
   * were writable. The caller flushes.
   */
  slotRemoveWriteAccess(slot: Memslot): Generator<Op, number, void>;
  /**
   * A harvest's write protection of one gfn it took from the bitmap
   * (kvm_arch_mmu_enable_log_dirty_pt_masked) for `by`, mmu_lock held for write;
   * emits dirtyLogWrprot (with the pfn of the leaf whose W bit went, where the
   * MMU traces that change), and returns whether a leaf was writable.
   */
  writeProtectGfn(gfn: number, by: DirtyLogWrprotBy): boolean;
  /** Describes the vCPU's current root for logs; -1 when none. */
  rootId(vcpu: Vcpu): number;
  /** Why entering the guest on this vCPU's root would break property 2, or null. */
  rootProblem(vcpu: Vcpu): string | null;
  /**
   * A present leaf mapping some gfn of [start, end) in any root not yet freed, or
   * null; `accessTracked`: shadow-present but marked for access tracking (TDP
   * without A/D bits), not present to the hardware until fast_page_fault restores it.
   */
  findMapping(start: number, end: number): { root: number; gfn: number; pfn: number; accessTracked?: true } | null;
  /**
   * Page aging: from now on leaves keep an Accessed bit (a world whose reclaim
   * ages pages), and kvm_age_gfn's part of [start, end) clears it, returning
   * whether a leaf was young (`lockless`: mmuAging=lockless, so mmu_lock is
   * not held by the caller). trackAccessed returns whether the hardware's walk
   * writes the leaf (its A bit; TDP without A/D bits marks leaves for access
   * tracking instead, and the walk writes nothing).
   */
  trackAccessed(): boolean;
  ageGfnRange(start: number, end: number, lockless: boolean): Generator<Op, boolean, void>;
  /** Recounts what the MMU counts (root counts, used pages, lpage_info); mismatches described. */
  checkAccounting(): string[];
  /**
   * Shadow paging: a page kvm_mmu_zap_all_fast left behind, obsolete by
   * generation but neither zapped nor invalid, described; null when none.
   */
  obsoletePageLeft?(): string | null;
  /** Gauges for metrics: live shadow pages / roots. */
  gauges(): { shadowPages: number; roots: number };
  /** Returns pooled memory once the instance is no longer used (optional). */
  dispose?(): void;

  // Shadow paging only (absent for the TDP MMU, which costs it nothing):
  /**
   * The guest kernel's own work before the vCPU's next access (process switch or
   * exit). It may replace the next access with a write to a page-table page; it
   * returns 'cr3' when the guest loads CR3 and 'invlpg' when it flushes one page,
   * which exit to KVM, or an op to yield
   * before it touches guest state other vCPUs share, after which it is called
   * again `granted`.
   */
  guestTick?(vcpu: Vcpu, granted?: boolean): GuestExitKind | Op | null;
  /**
   * A direct MMU's lockless leaf access for fast_page_fault (the TDP MMU's;
   * none for shadow paging, whose FNAME(page_fault) has no fast path).
   */
  fastPfGetLastSpte?(vcpu: Vcpu, gfn: number): LeafSpte | null;
  fastPfCmpxchgSpte?(vcpu: Vcpu, gfn: number, old: LeafSpte, next: LeafSpte, plain: boolean): boolean;
  /**
   * FNAME(walk_addr), shadow paging only: the walk of the guest's own page tables
   * for the faulting address, first thing in the fault, without mmu_lock. A PTE
   * not present is the guest's own fault: the #PF is injected ('inject-pf', for
   * RET_PF_RETRY) before any memslot, page-track or pfn work; null: go on.
   */
  guestWalk?(vcpu: Vcpu, fault: PageFault): Generator<Op, 'inject-pf' | null, void>;
  /**
   * page_fault_handle_page_track, shadow paging only: a write to a gfn that some
   * shadow page write-protects is emulated (the write done by KVM, under
   * mmu_lock), before any pfn lookup; true when it was.
   */
  pageTrackWrite?(vcpu: Vcpu, fault: PageFault): Generator<Op, boolean, void>;
  /** The gva of the INVLPG guestTick asked for (the exit's qualification). */
  pendingInvlpg?(vcpu: Vcpu): number;
  /** Handles the exit guestTick asked for (the CR3-load intercept, kvm_set_cr3; the INVLPG intercept, kvm_mmu_invlpg). */
  handleGuestExit?(vcpu: Vcpu): Generator<Op, void, void>;
  /** The KVM_REQ_MMU_SYNC handler (kvm_mmu_sync_roots), shadow paging only: sync the unsync pages below the current root. */
  syncRoots?(vcpu: Vcpu): Generator<Op, void, void>;
}
