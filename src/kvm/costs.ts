/**
 * Virtual-time costs, in ns, of the operations the model charges. Relative results
 * between variants are what matter; a scenario may override any entry.
 */
export interface Costs {
  /** A guest memory access that hits in the TLB or the SPTEs (think time between accesses is the workload's). */
  guestAccessNs: number;
  /** VM-exit plus VM-entry round trip (EPT violation, kick). */
  vmExitEntryNs: number;
  /** Fault path work outside mmu_lock (decode, memslot lookup). */
  faultNs: number;
  /** get_user_pages of a present page. */
  gupNs: number;
  /** get_user_pages that must fault the page in on the host (after reclaim). */
  gupMajorNs: number;
  /** Install one SPTE. */
  spteInstallNs: number;
  /** Zap one SPTE. */
  zapSpteNs: number;
  /** Zap one shadow page (prepare + commit share). */
  zapShadowPageNs: number;
  /** Create one shadow page. */
  shadowPageCreateNs: number;
  /** An uncontended mmu_lock acquisition. */
  lockAcquireNs: number;
  /** Handing mmu_lock to a waiter. */
  lockHandoverNs: number;
  /** Sending IPIs for a remote request (per request; the wait for acks is separate). */
  ipiSendNs: number;
  /** A vCPU taking an IPI and acknowledging it. */
  ipiAckNs: number;
  /** Flushing a vCPU's TLB. */
  tlbFlushNs: number;
  /** Servicing requests and other VM-entry preparation. */
  enterGuestNs: number;
  /** Allocating and loading a root. */
  rootLoadNs: number;
  /** A host PTE change (per page) between invalidate_range_start and _end. */
  hostPteChangeNs: number;
  /** A scheduler time slice: an mmu_lock holder that ran this long reschedules. */
  timesliceNs: number;
  /** A retry loop's pause before trying again (cpu_relax, re-entering to re-fault). */
  retryPauseNs: number;
  /** One SRCU grace period (synchronize_srcu_expedited). */
  srcuSyncNs: number;
  /**
   * Dirty logging: one gfn's leaf looked up and write-protected, under mmu_lock
   * (kvm_arch_mmu_enable_log_dirty_pt_masked, per gfn of a mask; the enable's
   * slot walk, per present leaf): a walk to the leaf and an atomic clear of its
   * W bit, as a zap's SPTE change costs.
   */
  dirtyLogWrprotNs: number;
  /** Dirty logging: one word (64 gfns) of the dirty bitmap read or exchanged by KVM_GET_DIRTY_LOG or KVM_CLEAR_DIRTY_LOG. */
  dirtyBitmapWordNs: number;
  /** Dirty ring: one entry walked and freed by KVM_RESET_DIRTY_RINGS (its flags read with acquire, cleared with release). */
  dirtyRingEntryNs: number;
  /** Dirty logging: the VMM's copy of one 4 KiB page of guest memory (a memcpy; sending it is not modelled). */
  pageCopyNs: number;
}

export const DEFAULT_COSTS: Readonly<Costs> = {
  guestAccessNs: 5,
  vmExitEntryNs: 1500,
  faultNs: 400,
  gupNs: 300,
  gupMajorNs: 3000,
  spteInstallNs: 80,
  zapSpteNs: 40,
  zapShadowPageNs: 200,
  shadowPageCreateNs: 600,
  lockAcquireNs: 20,
  lockHandoverNs: 150,
  ipiSendNs: 500,
  ipiAckNs: 3000,
  tlbFlushNs: 300,
  enterGuestNs: 200,
  rootLoadNs: 2000,
  hostPteChangeNs: 10,
  timesliceNs: 3_000_000,
  retryPauseNs: 50,
  srcuSyncNs: 20000,
  dirtyLogWrprotNs: 30,
  dirtyBitmapWordNs: 5,
  dirtyRingEntryNs: 10,
  pageCopyNs: 500,
};
