import type { KvmEvent } from '../kvm/events.js';

/**
 * The name of an instant in the Perfetto trace: one per kind of event (the
 * kernel's function or interface where there is one), so that Perfetto's
 * grouping and filtering by name finds every instant of a kind. What the
 * event says (its values: seq, snapshot, range) is the instant's `text` arg,
 * and its values one by one are args too (instantArgs). A probe: names such as
 * 'mmu_invalidate_retry_gfn APIC-access gfn 0xfee00 (..., mmu_invalidate_seq=206, ...): retry'
 * made hundreds of distinct names in one trace.
 */
const NAMES: Partial<Record<KvmEvent['e'], string>> = {
  entryCancelled: 'VM-entry cancelled (late request check)',
  lockBreak: 'mmu_lock drop and re-take',
  rootInvalidate: 'mark root invalid',
  rootFree: 'free root',
  mmuValidGen: 'mmu_valid_gen toggled',
  gfnWriteProtected: 'gfn write-protected',
  mmioSpteSet: 'MMIO SPTE set',
  mmioSpteZap: 'sync_mmio_spte: MMIO SPTE dropped',
  mmioGenWrap: 'MMIO generation wrapped',
  mmioCheck: 'handle_mmio_page_fault',
  invlpgSyncSpte: '__kvm_mmu_invalidate_addr: FNAME(sync_spte)',
  apicRetryCheck: 'mmu_invalidate_retry_gfn (APIC-access page)',
  apicReload: 'APIC-access page reload',
  trackWrite: 'kvm_mmu_track_write',
  zapResumed: 'zap walk resumed',
  memslotLookup: 'memslot lookup',
  memslotChange: 'memslot change',
  dirtyLogEnable: 'KVM_MEM_LOG_DIRTY_PAGES',
  dirtyLogHarvest: 'KVM_GET_DIRTY_LOG',
  dirtyLogClear: 'KVM_CLEAR_DIRTY_LOG',
  markPageDirty: 'mark_page_dirty_in_slot',
  dirtyRingPush: 'kvm_dirty_ring_push',
  dirtyRingExit: 'KVM_EXIT_DIRTY_RING_FULL',
  dirtyRingCollect: 'dirty ring collected',
  dirtyRingSync: 'migration bitmap sync',
  dirtyRingReset: 'KVM_RESET_DIRTY_RINGS',
  mutantActed: 'mutant acted',
  fastPageFault: 'fast_page_fault',
  fastPfGetSpte: 'fast_page_fault: lockless SPTE read',
  fastPfCmpxchg: 'fast_page_fault: cmpxchg',
  ageHva: 'clear_flush_young',
  ageSpteRead: 'kvm_age_gfn: SPTE read',
  ageSpte: 'kvm_age_gfn: SPTE aged',
  ageSpteMark: 'mark_spte_for_access_track',
  folioReferenced: 'folio_referenced',
  workloadPhase: 'guest workload phase',
  // Instants of a checker's replay only, where every event of the interleaving is one (perfetto.ts).
  seqSnapshot: 'mmu_invalidate_seq snapshot',
  gup: 'get_user_pages',
  precheck: 'mmu_invalidate_retry_gfn_unsafe (lockless check)',
  staleCheck: 'is_page_fault_stale',
  spteSet: 'SPTE set',
  invalidateBegin: 'kvm_mmu_invalidate_begin',
  invalidateRangeAdd: 'kvm_mmu_invalidate_range_add',
  invalidateEnd: 'kvm_mmu_invalidate_end',
  hostPteChange: 'host PTE change',
  pfnFree: 'host page freed',
  request: 'make request',
  requestServiced: 'service request (kvm_check_request)',
  tlbFlush: 'TLB flush',
  rootAlloc: 'load root',
  rootPut: 'put root',
  guestAccess: 'guest access',
};

/** The instant's name for an event of this kind; the kind itself for one not named here. */
export function instantName(ev: KvmEvent): string {
  return NAMES[ev.e] ?? ev.e;
}
