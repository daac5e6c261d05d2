import { fmtNs } from '../runtime/duration.js';
import { INVALID_GPA } from './kvm.js';
import { ROOT_LEVEL, WRITE_FLOODING_THRESHOLD } from './shadow-page.js';
import type { SyncSpteResult } from './shadow-unsync.js';

/**
 * Everything the model makes observable, as one tagged union. Sinks (the
 * oracle, the metrics, the step log, trace exporters) subscribe to it. Every
 * event comes with the time, runtime step and thread id of its emission (an
 * EventStamp).
 */
export type RetPf =
  /** the SPTE was installed */
  | 'fixed'
  /** another vCPU had installed it already */
  | 'spurious'
  /** retried before taking mmu_lock (lockless pre-check saw an invalidation) */
  | 'retry-precheck'
  /** retried under mmu_lock (is_page_fault_stale) */
  | 'retry-stale'
  /** retried because the memslot is being deleted or moved */
  | 'retry-invalid-slot'
  /** no memslot: emulated as MMIO */
  | 'emulate'
  /** the guest's own PTE is clear (shadow paging: the process unmapped the page): a #PF injected into the guest, RET_PF_RETRY */
  | 'inject-pf'
  /** shadow paging: a guest PTE the fault walked changed before mmu_lock (FNAME(gpte_changed)): RET_PF_RETRY, the access faults again */
  | 'retry-gpte-changed';

export type KvmEventBody =
  | {
      e: 'guestAccess';
      vcpu: number;
      gfn: number;
      pfn: number;
      write: boolean;
      via: 'tlb' | 'spte';
      /** The store of a write whose SPTE walk (guestWalk) was a step of its own before it (dirty-log worlds). */
      afterWalk?: true;
    }
  /** A guest write's SPTE walk in a dirty-log world, whose store (guestAccess via 'spte') is a step of its own after it. */
  | { e: 'guestWalk'; vcpu: number; gfn: number; pfn: number }
  | { e: 'vmEntry'; vcpu: number; root: number; apicPfn: number }
  /** `gfn` and `write`: the access that faulted, on a fault exit (an EPT violation, a #PF intercept, a write a read-only SPTE refused); on an INVLPG exit, `gfn` is the gva it flushes (the exit qualification). */
  | { e: 'vmExit'; vcpu: number; reason: VmExitReason; gfn?: number; write?: boolean }
  | { e: 'entryCancelled'; vcpu: number; requests: number }
  /** `refault`: the vCPU's last fault, on this gfn, was fixed, and the access it re-executed faulted again before it retired. */
  | { e: 'faultBegin'; vcpu: number; gfn: number; write: boolean; refault: boolean }
  | { e: 'seqSnapshot'; vcpu: number; seq: number }
  | { e: 'gup'; vcpu: number; gfn: number; hva: number; pfn: number }
  /**
   * The mutant acted here, leaving out what the kernel does (`what`, its
   * MutantSpec.shown): built only when a sink reads it, as the step log does.
   */
  | { e: 'mutantActed'; mutant: string; what: string }
  /**
   * handle_cr → kvm_set_cr3 (shadow paging): the guest's MOV to CR3 of `cr3` (the
   * PGD's gfn) over `old`, the CR3 it had (kvm_read_cr3); `root`, the current root
   * slot before the load (-1: none). A new value goes to kvm_mmu_new_pgd (a newPgd
   * event follows); the same value does not, only to kvm_invalidate_pcid.
   */
  | { e: 'cr3Write'; vcpu: number; cr3: number; old: number; root: number }
  /** kvm_mmu_new_pgd (a new CR3): the root slot after the switch (-1: none fits, one is built before entry) and the cached roots (-1: empty). */
  | { e: 'newPgd'; vcpu: number; pgd: number; root: number; prev: number[] }
  /** kvm_mmu_free_obsolete_roots: the roots it looked at, those it frees, and the obsolete ones it keeps (a mutant's test). */
  | { e: 'freeObsoleteRoots'; vcpu: number; current: number; prev: number[]; freed: number[]; kept: number[] }
  /** kvm_swap_active_memslots publishes a new memslot set, with the old generation and the update-in-progress bit (`inProgress`). */
  | { e: 'memslotsPublish'; generation: number; inProgress: boolean; what: string }
  /** kvm_swap_active_memslots stores the final generation in the set it published (after synchronize_srcu and kvm_arch_memslots_updated). */
  | { e: 'memslotsGeneration'; generation: number }
  /**
   * A vCPU looked a memslot up (read under SRCU): `by` fault, kvm_vcpu_gfn_to_memslot
   * for the gfn it faults on (before its seq snapshot), or apic, the APIC-access
   * page's private memslot by id. `slot` -1: none. Only in worlds whose memslots
   * change (Kvm.memslotsChange): elsewhere the lookup races with nothing.
   */
  | { e: 'memslotLookup'; vcpu: number; by: 'fault' | 'apic'; gfn: number; slot: number; invalid: boolean }
  /**
   * make_mmio_spte / mark_mmio_spte: a fault on a gfn in no memslot installed an
   * MMIO SPTE carrying `gen`, the memslots generation's low bits as read under
   * mmu_lock (`inProgress`: the set read was still being published). `root`: the
   * TDP root; under shadow paging -1, `sp` the shadow page. `by`: set when a
   * shadow-page sync re-stamped an MMIO SPTE it kept (sync_mmio_spte), without a
   * memslot lookup; absent for a fault's.
   */
  | { e: 'mmioSpteSet'; vcpu: number; gfn: number; gen: number; inProgress: boolean; root: number; sp?: number; by?: 'sync_mmio_spte' }
  /**
   * sync_mmio_spte under syncMmioSpte=zap (a candidate fix): the shadow-page sync
   * dropped the MMIO SPTE of `gfn` (generation `gen`) in shadow page `sp` instead
   * of re-stamping it (mmu_spte_clear_no_track: no tracepoint in the kernel).
   */
  | { e: 'mmioSpteZap'; vcpu: number; gfn: number; gen: number; sp: number }
  /**
   * kvm_mmu_invalidate_mmio_sptes: the memslots generation `generation` wrapped the
   * bits MMIO SPTEs keep, so every shadow page goes (kvm_mmu_zap_all_fast follows);
   * the kernel says so in a debug message, "zapping shadow pages for mmio generation wraparound".
   */
  | { e: 'mmioGenWrap'; generation: number }
  /**
   * The guest's workload (workload.phases): vCPU `vcpu` draws its first access
   * of phase `phase` (0-based), from which its accesses follow that phase's
   * pattern over [gfnStart, gfnStart + gfnCount). `byAccess`: the phase starts
   * at `start` accesses drawn; else at virtual time `start` ns (the vCPU enters
   * it at its first access from then on). No kernel counterpart: the guest's.
   */
  | { e: 'workloadPhase'; vcpu: number; phase: number; pattern: string; gfnStart: number; gfnCount: number; byAccess: boolean; start: number }
  /**
   * check_mmio_spte in handle_mmio_page_fault: the MMIO SPTE's generation
   * (`spteGen`) against the memslots' (`generation`; `gen`, its bits an MMIO SPTE
   * keeps; `inProgress`, the update-in-progress bit); `match`: the access is
   * emulated as MMIO, without a memslot lookup.
   */
  | { e: 'mmioCheck'; vcpu: number; gfn: number; spteGen: number; generation: number; gen: number; inProgress: boolean; match: boolean }
  /**
   * The lockless pre-check's read of mmu_invalidate_in_progress (`kept`: the value of an earlier read, no READ_ONCE),
   * of the in-progress range (INVALID_GPA: none added yet) and of mmu_invalidate_seq, the fault's snapshot, and its answer.
   */
  | {
      e: 'precheck';
      vcpu: number;
      gfn: number;
      afterGup: boolean;
      inProgress: number;
      kept: boolean;
      rangeStart: number;
      rangeEnd: number;
      seq: number;
      snapshot: number;
      retry: boolean;
    }
  /** is_page_fault_stale's invalidation check under mmu_lock (`skipped`: a mutant left out the part that would have said stale). */
  | {
      e: 'staleCheck';
      vcpu: number;
      gfn: number;
      stale: boolean;
      skipped: boolean;
      inProgress: number;
      rangeStart: number;
      rangeEnd: number;
      seq: number;
      snapshot: number;
      /** The vCPU's current root (-1: none), and whether it is obsolete (then stale, and nothing else is looked at). */
      root: number;
      rootObsolete: boolean;
      /** The gfn is in no memslot (an MMIO SPTE to install): only the root is checked. */
      noSlot: boolean;
    }
  /**
   * vmx_set_apic_access_page_addr's mmu_invalidate_retry_gfn under read_lock(mmu_lock)
   * (apicAccessPage=retry): `retry`, an invalidation covers the APIC-access gfn or
   * completed since the snapshot; `ignored`, the mutant wrote the pfn all the same.
   */
  | {
      e: 'apicRetryCheck';
      vcpu: number;
      gfn: number;
      retry: boolean;
      ignored: boolean;
      inProgress: number;
      rangeStart: number;
      rangeEnd: number;
      seq: number;
      snapshot: number;
    }
  /**
   * kvm_mmu_track_write under write_lock(mmu_lock): the emulated guest write to
   * entries [`index`, `through`) of the write-tracked table at `gfn`. `updated`:
   * the valid shadow pages of the gfn that lost the SPTEs written (`dropped`: how
   * many were present), with each one's write-flooding count after this write
   * (`floodingCounts`, -1 for a level-1 page, which does not count); `flooded`:
   * those zapped whole, the writes having flooded (detect_write_flooding).
   * `noShadowPages`: no indirect shadow page exists, it returns at once.
   */
  | {
      e: 'trackWrite';
      gfn: number;
      index: number;
      through: number;
      noShadowPages: boolean;
      updated: number[];
      floodingCounts: number[];
      flooded: number[];
      dropped: number;
    }
  | { e: 'faultEnd'; vcpu: number; gfn: number; ret: RetPf; pfn: number; latencyNs: number; retries: number }
  /** A fault that ended in RET_PF_RETRY was resolved without another: the re-executed access went through (another vCPU mapped the page). */
  | { e: 'faultResolved'; vcpu: number; gfn: number; latencyNs: number; retries: number }
  /**
   * `root`: the TDP root whose table holds the SPTE; under shadow paging -1, `sp` the shadow page that holds it
   * and `writable` the leaf's W bit (as installed; for a zap, as it was when zapped). Under TDP, the
   * old leaf as it was when changed (a zap, or a fault's new leaf over it): `oldWritable` its W bit
   * (dirty logging clears it), `oldAccessed` its A bit where the world keeps one (aging clears it),
   * `oldAccessTracked` whether aging had marked it for access tracking; absent: W and A set, not marked.
   */
  | {
      e: 'spteSet';
      root: number;
      sp?: number;
      gfn: number;
      oldPfn: number;
      newPfn: number;
      level: number;
      writable?: boolean;
      oldWritable?: boolean;
      oldAccessed?: boolean;
      oldAccessTracked?: boolean;
    }
  | { e: 'invalidateRangeStart'; kind: string; hvaStart: number; hvaEnd: number }
  | { e: 'invalidateRangeStartDone'; kind: string; hvaStart: number; hvaEnd: number }
  | { e: 'invalidateRangeEnd'; kind: string; hvaStart: number; hvaEnd: number }
  | { e: 'invalidateBegin'; inProgress: number }
  | { e: 'invalidateRangeAdd'; start: number; end: number }
  | { e: 'invalidateEnd'; seq: number; inProgress: number }
  | { e: 'hostPteChange'; hva: number; oldPfn: number; newPfn: number; kind: string }
  | { e: 'pfnFree'; pfn: number; hva: number; kind: string }
  | { e: 'remoteFlushBegin'; reason: string }
  | { e: 'remoteFlushEnd'; reason: string; vcpusKicked: number }
  | { e: 'tlbFlush'; vcpu: number }
  | { e: 'request'; vcpu: number; req: number; kicked: boolean }
  | { e: 'requestServiced'; vcpu: number; req: number }
  | { e: 'apicReload'; vcpu: number; pfn: number; outcome: 'set' | 'retry' | 'no-slot' }
  /** `afterZap`: the vCPU had dropped its root on a root-zap request (KVM_REQ_MMU_FREE_OBSOLETE_ROOTS / _RELOAD) and loads one again. */
  | { e: 'rootAlloc'; vcpu: number; root: number; pgd?: number; afterZap?: boolean }
  | { e: 'rootPut'; vcpu: number; root: number; count: number }
  | { e: 'rootFree'; root: number }
  /** kvm_tdp_mmu_invalidate_all_roots marked the root invalid; `inUse`: some vCPU held a reference to it. */
  | { e: 'rootInvalidate'; root: number; inUse: boolean }
  /**
   * One batch of a zap: the pages it zapped since the last lock break; `lockBreak`, it ends at one (the lock still held).
   * `left`, where the walk ends (no lock break): the pages of its work it leaves unzapped (kvm_zap_obsolete_pages:
   * obsolete pages still on active_mmu_pages, 0 unless its walk stopped early).
   */
  | { e: 'zapBatch'; what: string; pages: number; lockBreak?: boolean; left?: number }
  | { e: 'zapAllBegin'; how: ZapAllHow; pages: number }
  | { e: 'zapAllEnd'; how: ZapAllHow; durationNs: number }
  /**
   * kvm_mmu_zap_oldest_mmu_pages prepared its zaps (make_mmu_pages_available's reclaim):
   * `wanted` pages asked for, `zapped` on the invalid list (mmu_recycled), n_used_mmu_pages
   * after and n_max_mmu_pages; `flush`: whether the commit that follows flushes (false: the mutant's).
   */
  | { e: 'shadowReclaim'; wanted: number; zapped: number; used: number; max: number; flush: boolean }
  /**
   * `left`: where the holder knows it, the pages its work still has to zap (a
   * zap-all's): one whose work left reaches a new low is making progress,
   * however long it takes (ProgressMonitor). Where the event comes once the holder
   * has the lock back (the zap-alls'), `others`: mmu_lock acquisitions by other
   * threads in the break, `offNs`: from the drop to the re-take.
   */
  | { e: 'lockBreak'; holder: string; left?: number; others?: number; offNs?: number }
  /**
   * After a lock break, `holder`'s walk of `root` went on under the re-taken lock and
   * found nothing more to zap up to `end` (`flushPending`: a flush for earlier zaps
   * is still owed). Only where no zap followed the break: else the zaps say it.
   */
  | { e: 'zapResumed'; holder: string; root: number; start: number; end: number; flushPending: boolean }
  | { e: 'memslotChange'; op: string; slot: number; phase: 'begin' | 'invalid' | 'flushed' | 'done' }
  | { e: 'spCreate'; sp: number; gfn: number; level: number; direct: boolean; gen: number }
  /** kvm_mmu_get_shadow_page found a valid page of that gfn and role (`synced`: it was unsync, and kvm_sync_page rebuilt it first; it stays unsync). */
  | { e: 'spFound'; sp: number; gfn: number; level: number; gen: number; unsync: boolean; synced: boolean }
  | { e: 'spZap'; sp: number; gfn: number; level: number; root: boolean; gen: number; direct: boolean }
  /** __kvm_mmu_prepare_zap_page of a page already invalid: a root zapped in use, as its last reference goes (mmu_free_root_page); it only moves to the free list. */
  | { e: 'spZapInvalid'; sp: number; gfn: number; level: number; gen: number; direct: boolean }
  | { e: 'spFree'; sp: number }
  /** kvm_unsync_page (mmu_try_to_unsync_pages): a level-1 page goes unsync, so that the fault may map its gfn writable. */
  | { e: 'spUnsync'; sp: number; gfn: number; level: number; gen: number }
  /**
   * kvm_unlink_unsync_page: an unsync page is marked sync, by mmu_sync_children
   * below `root` (its gfn write-protected, kvm_sync_page rebuilds it next), or by
   * __kvm_mmu_prepare_zap_page as it zaps the page (`root` -1).
   */
  | { e: 'spSync'; sp: number; gfn: number; level: number; gen: number; by: SpSyncBy; root: number }
  /**
   * A guest table's gfn is write-protected: from here on KVM relies on a guest
   * write to it trapping (account_shadowed, as a page starts shadowing it;
   * mmu_sync_children, before it reads the table to sync its page). `flush`:
   * a leaf was writable and the TLBs were flushed ('done'), none was ('none
   * needed'), or one was and a mutant left the flush out ('skipped'; for
   * mmu_sync_children, per batch of pages).
   */
  | { e: 'gfnWriteProtected'; gfn: number; by: 'account_shadowed' | 'mmu_sync_children'; flush: WriteProtectFlush }
  /**
   * kvm_inject_exception, as vcpu_enter_guest injects a queued exception (after
   * its requests, before kvm_mmu_reload): the #PF (vector 14) the shadow MMU's
   * walk of the guest's tables queued, with its error code. `reinjected`: it
   * was injected for an entry that was then cancelled, and goes in again.
   */
  | { e: 'injException'; vcpu: number; vector: number; errorCode: number; reinjected: boolean }
  /**
   * kvm_mmu_invlpg → kvm_mmu_invalidate_addr: the guest's INVLPG of `gva`,
   * intercepted (shadow paging); kvm_x86_flush_tlb_gva drops this vCPU's TLB
   * entry of gva first (`tlbEntry`: it had one). Each root's walk follows
   * (invlpgSyncSpte where it reaches an unsync SPTE). The kernel's invlpg stat.
   */
  | { e: 'invlpg'; vcpu: number; gva: number; tlbEntry: boolean }
  /**
   * __kvm_mmu_invalidate_addr: the walk for `gva` from `root` (`prev`: a cached
   * previous root) reached the SPTE of unsync level-1 page `sp`, and
   * FNAME(sync_spte) did `result` with it; `flush`: a dropped SPTE was flushed
   * from every vCPU ('done', kvm_flush_remote_tlbs_gfn, emitted before it), none
   * was dropped ('none needed'), or a mutant left it out ('skipped').
   */
  | { e: 'invlpgSyncSpte'; vcpu: number; gva: number; root: number; prev: boolean; sp: number; result: SyncSpteResult; flush: WriteProtectFlush }
  | { e: 'mmuValidGen'; gen: number }
  /**
   * The VMM's KVM_SET_USER_MEMORY_REGION adding KVM_MEM_LOG_DIRTY_PAGES to `slot`:
   * `begin`, the flag set; `returned`, after kvm_mmu_slot_apply_flags made
   * `leaves` writable leaves read-only and flushed (`flush`). `initiallySet`:
   * KVM_DIRTY_LOG_INITIALLY_SET, the bitmap set whole and nothing write-protected.
   */
  | { e: 'dirtyLogEnable'; slot: number; phase: 'begin' | 'returned'; leaves: number; flush: WriteProtectFlush; initiallySet?: true }
  /**
   * KVM_GET_DIRTY_LOG number `n`: `taken`, a word's dirty bits taken (xchg) under
   * mmu_lock; `copied` (manual protect), a word of the live bitmap read for
   * userspace, its bits left set; `returned`, the bitmap copied to userspace
   * (`gfns`: every gfn it reports) after the flush (`flush`; none under manual
   * protect, `manual`).
   */
  | { e: 'dirtyLogHarvest'; slot: number; n: number; phase: 'taken' | 'copied' | 'returned'; gfns: number[]; flush: WriteProtectFlush; manual?: true }
  /**
   * KVM_CLEAR_DIRTY_LOG after KVM_GET_DIRTY_LOG number `n`, `mask` the gfns
   * userspace hands back: `cleared`, one word's fetch_andnot under mmu_lock
   * (`gfns`: the bits it cleared, old & mask, whose leaves it write-protects;
   * `lost`: bits of other gfns a plain write back overwrote, the
   * clear-dirty-log-plain-andnot mutant's); `returned`, after the flush (`flush`).
   * Under that mutant (`plain`) the word is read in a step of its own before
   * its write back (`cleared`): `read`, the word of gfns [word[0], word[1])
   * read, `gfns` the bits set in it then.
   */
  | {
      e: 'dirtyLogClear';
      slot: number;
      n: number;
      phase: 'read' | 'cleared' | 'returned';
      mask: number[];
      gfns: number[];
      flush: WriteProtectFlush;
      lost?: number[];
      plain?: true;
      word?: [number, number];
    }
  /**
   * A leaf of `gfn` made read-only for dirty logging (`wasWritable`: a leaf had the W bit).
   * TDP: `pfn` the leaf's, `accessed` its A bit where the world keeps one (aging clears it; absent: set).
   */
  | { e: 'dirtyLogWrprot'; gfn: number; by: DirtyLogWrprotBy; wasWritable: boolean; pfn?: number; accessed?: boolean }
  /** The VMM copied page `gfn` after ioctl `n` returned (0: the enabling one's full copy; `ring`: in the migration's round `n` of collecting the dirty rings). */
  | { e: 'dirtyLogCopy'; slot: number; n: number; gfn: number; ring?: true }
  /**
   * make_spte → mark_page_dirty_in_slot: a fault made a writable SPTE for `gfn` in
   * the logged slot (`already`: its bit was set; `wpFault`: the fault was a write
   * to a leaf dirty logging had write-protected, now writable again).
   */
  | { e: 'markPageDirty'; vcpu: number; gfn: number; slot: number; already: boolean; wpFault: boolean; fast?: boolean }
  /**
   * mark_page_dirty_in_slot → kvm_dirty_ring_push (dirty ring): `gfn` pushed
   * (`offset` in memslot `slot`) to vCPU `vcpu`'s ring of `size` entries at
   * free-running `index` (its slot index & (size - 1)), the ring's reset_index
   * being `resetIndex`; `softFull`: the ring is now
   * soft full (KVM_REQ_DIRTY_RING_SOFT_FULL made); `wpFault`: the fault was a
   * write to a leaf dirty logging had write-protected; `overwrote`: the gfn of an
   * uncollected entry the push overwrote (dirty-ring-no-soft-full-exit only).
   */
  | {
      e: 'dirtyRingPush';
      vcpu: number;
      gfn: number;
      slot: number;
      offset: number;
      index: number;
      resetIndex: number;
      size: number;
      softFull: boolean;
      wpFault: boolean;
      overwrote?: number;
    }
  /** kvm_dirty_ring_check_request: vCPU `vcpu` leaves for userspace, KVM_EXIT_DIRTY_RING_FULL (`used` entries not reset). */
  | { e: 'dirtyRingExit'; vcpu: number; used: number }
  /** kvm_dirty_ring_check_request: the soft-full request was pending but a reset has made room since (`used` entries not reset): it stays cleared, the vCPU goes on. */
  | { e: 'dirtyRingRoom'; vcpu: number; used: number }
  /**
   * The VMM collected vCPU `vcpu`'s ring (collection `n`, by thread `by`): the
   * DIRTY entries from its fetch index, their gfns (`gfns`) recorded for
   * copying and their flags set RESET (harvested).
   */
  | { e: 'dirtyRingCollect'; vcpu: number; n: number; gfns: number[]; by: 'migration' | 'exit' }
  /** The migration's bitmap sync in its round after collection `n`: `gfns`, collected and re-protected, become pages to copy. */
  | { e: 'dirtyRingSync'; n: number; gfns: number[] }
  /**
   * KVM_RESET_DIRTY_RINGS after collection `n`: `entry`, one harvested entry
   * of vCPU `vcpu`'s ring (its gfn, `gfns[0]`) made free again and reset_index
   * advanced to `entries` (from here the vCPU's soft-full check counts it out,
   * though the gfn's write protection comes with its mask); `mask`,
   * kvm_reset_dirty_gfn write-protects `gfns` under mmu_lock; `returned`,
   * after the flush (`flush`), `entries` reset in all.
   */
  | { e: 'dirtyRingReset'; vcpu: number; n: number; phase: 'entry' | 'mask' | 'returned'; gfns: number[]; entries: number; flush: WriteProtectFlush }
  /**
   * kvm_dirty_ring_reset done with vCPU `vcpu`'s ring (after its last mask; every
   * ring, once per KVM_RESET_DIRTY_RINGS, whatever it reset): `entries` reset in
   * it, its free-running `dirtyIndex` and `resetIndex` after (used: the difference).
   */
  | { e: 'dirtyRingReset'; vcpu: number; n: number; phase: 'ring'; entries: number; dirtyIndex: number; resetIndex: number }
  /** fast_page_fault's lockless read of the leaf of `gfn` (kvm_tdp_mmu_fast_pf_get_last_sptep): `pfn` -1 when none is present. */
  | { e: 'fastPfGetSpte'; vcpu: number; gfn: number; pfn: number; writable: boolean; accessTracked?: true }
  /**
   * fast_page_fault's fix of the leaf of `gfn` (fast_pf_fix_direct_spte): the
   * cmpxchg from the value read (`oldPfn`, read-only) to the same pfn writable,
   * against the leaf as it was (`curPfn`, -1 none; `curWritable`); `ok`: stored.
   * `plain`: a plain store (the fast-pf-plain-write mutant), stored whatever it was.
   */
  | {
      e: 'fastPfCmpxchg';
      vcpu: number;
      gfn: number;
      oldPfn: number;
      curPfn: number;
      curWritable: boolean;
      ok: boolean;
      plain: boolean;
      /** Present only where a leaf was access-tracked (eptAdBits=off): the value read was (restore_acc_track_spte's cmpxchg). */
      restore?: boolean;
      /** With `restore`: whether the new leaf is writable (a write fault on an MMU-writable leaf). */
      newWritable?: boolean;
      /** With `restore`: the leaf met at the cmpxchg was access-tracked. */
      curAccessTracked?: boolean;
    }
  /**
   * fast_page_fault returned (its tracepoint): the leaf it last read (`oldPfn`,
   * -1 not present; `oldWritable`), `ret` (RET_PF_INVALID: the slow path goes
   * on), and the failed cmpxchgs before (`retries`).
   */
  | {
      e: 'fastPageFault';
      vcpu: number;
      gfn: number;
      oldPfn: number;
      oldWritable: boolean;
      ret: 'fixed' | 'spurious' | 'invalid';
      retries: number;
      /** A fault on a leaf not present (only without EPT A/D bits does one come here): the access. */
      notPresent?: 'read' | 'write';
      /** With `notPresent`: the leaf last read was access-tracked (restore_acc_track_spte). */
      accessTracked?: boolean;
    }
  /** kvm_mmu_notifier_clear_flush_young called on [hvaStart, hvaEnd) (its kvm_age_hva tracepoint). */
  | { e: 'ageHva'; hvaStart: number; hvaEnd: number }
  /** kvm_age_gfn's read of the present leaf of `gfn` in `root` (iter.old_spte; under shadow paging root -1, `sp` the page holding it): whether its A bit was set. */
  | { e: 'ageSpteRead'; root: number; sp?: number; gfn: number; pfn: number; young: boolean; noAd?: true }
  /**
   * kvm_age_gfn without A/D bits (eptAdBits=off): mark_spte_for_access_track's
   * store to the leaf of `gfn` in `root` it read young mapping `pfn` (`curPfn`
   * the leaf at the store, -1 zapped; `curTracked`: already access-tracked).
   * `ok`: stored (lockless: the cmpxchg against the value read; under mmu_lock
   * always). `plain`: the mutant's plain store of the marked value read.
   */
  | {
      e: 'ageSpteMark';
      root: number;
      gfn: number;
      pfn: number;
      /** The W bit of the leaf as read (the mark clears it, not saving it). */
      writable: boolean;
      curPfn: number;
      curWritable: boolean;
      curTracked: boolean;
      ok: boolean;
      plain: boolean;
      lockless: boolean;
    }
  /**
   * kvm_age_gfn cleared the A bit of the leaf of `gfn` it read mapping `pfn`;
   * `curPfn` the leaf as it was at the clear (-1: zapped since the read).
   * `plain`: the mutant's plain store of the value read, over a leaf that changed since.
   * TDP: `writable` the W bit of the leaf the clear changed (under the mutant, of the value
   * read, which it stores), `curWritable` the W bit of the leaf at the clear (dirty logging
   * clears it); absent: set.
   */
  | { e: 'ageSpte'; root: number; sp?: number; gfn: number; pfn: number; curPfn: number; plain: boolean; writable?: boolean; curWritable?: boolean }
  /** Reclaim's folio_referenced on [hvaStart, hvaEnd) (clear_flush_young): a young page is kept, an old one reclaimed. */
  | { e: 'folioReferenced'; hvaStart: number; hvaEnd: number; young: boolean }
  | { e: 'note'; text: string };

/** The flush after a write protection (gfnWriteProtected): done, not needed (no leaf was writable), or left out by a mutant. */
export type WriteProtectFlush = 'done' | 'none needed' | 'skipped';

/** What write-protected a leaf for dirty logging: enabling it, or the ioctl that took its dirty bit. */
export type DirtyLogWrprotBy = 'kvm_mmu_slot_apply_flags' | 'KVM_GET_DIRTY_LOG' | 'KVM_CLEAR_DIRTY_LOG' | 'KVM_RESET_DIRTY_RINGS';

/** Who marks an unsync page sync (kvm_unlink_unsync_page's callers in the model). */
export type SpSyncBy =
  /** the sync of a root's unsync pages (a CR3 load, kvm_mmu_load) */
  | 'mmu_sync_children'
  /** a zap of the page while it is unsync */
  | '__kvm_mmu_prepare_zap_page';

/** An event, as sinks get it (its time, step and thread come apart, in an EventStamp). */
export type KvmEvent = KvmEventBody;

/**
 * When, at which runtime step and on which thread an event was emitted. Kvm.emit
 * fills in one object for every event, so that emitting allocates nothing but
 * the event: a sink that keeps them copies the fields, never the object.
 */
export interface EventStamp {
  ts: number;
  step: number;
  tid: number;
}

/** A consumer of model events. */
export interface Sink {
  on(ev: KvmEvent, at: EventStamp): void;
  /**
   * The event kinds `on` looks at, when it ignores the rest; absent means every
   * kind. Lets Kvm.emit skip stamping and dispatch of events nobody reads.
   * Keep it in a module constant: routes are shared between Kvms whose sinks
   * have the same lists (event-routes.ts).
   */
  readonly kinds?: readonly KvmEvent['e'][];
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** A host address given as a page number (hva >> 12), printed in bytes as the kernel prints an hva. */
export function hvaText(page: number): string {
  return hex(page * 4096);
}

/** Which zap of every page a zapAllBegin/zapAllEnd is, as the step log names it. */
export type ZapAllHow = 'kvm_mmu_zap_all_fast' | 'kvm_mmu_zap_all (lock-break)' | 'zap memslot (rmaps + mmu_page_hash)' | 'zap memslot (rmaps only)';

/**
 * A CR3 value, given as the gfn of the PGD it points to (the model keeps
 * page numbers), printed as the register holds it and as the kernel's kvm_cr
 * tracepoint prints it (`cr_write 3 = 0x...`): the PGD's guest-physical
 * address (no PCID, no flag bits).
 */
export function cr3Text(pgdGfn: number): string {
  return hex(pgdGfn * 4096);
}

/** x86 exception vectors the model injects, named as the kernel's traces name them (kvm_trace_sym_exc). */
export const PF_VECTOR = 14;
export const EXCEPTION_NAMES: Readonly<Record<number, string>> = { [PF_VECTOR]: '#PF' };

/** What FNAME(sync_spte) did with an SPTE, for logs. */
const SYNC_SPTE_TEXT: Record<SyncSpteResult, string> = {
  kept: 'its guest PTE still maps the gfn, kept',
  mmio: 'an MMIO SPTE whose guest PTE still maps its gfn, to sync_mmio_spte',
  dropped: 'its guest PTE no longer maps the gfn, dropped',
  'dropped-mmio': 'an MMIO SPTE whose guest PTE no longer maps its gfn, dropped (in no TLB)',
};

/** Names of request bits, for logs. */
export const REQUEST_NAMES = [
  'KVM_REQ_TLB_FLUSH',
  'KVM_REQ_MMU_FREE_OBSOLETE_ROOTS',
  'KVM_REQ_APIC_PAGE_RELOAD',
  'KVM_REQ_MMU_RELOAD',
  'KVM_REQ_LOAD_MMU_PGD',
  'KVM_REQ_MMU_SYNC',
  'KVM_REQ_TLB_FLUSH_CURRENT',
  'KVM_REQ_DIRTY_RING_SOFT_FULL',
] as const;

/**
 * Why a vCPU left the guest. A fault is an EPT violation under TDP; under
 * shadow paging it is the guest's #PF, intercepted: `write-protect` when a
 * present SPTE refused a write (error code P|W), `pf-intercept` otherwise. An
 * access that reaches an MMIO SPTE exits as an EPT misconfiguration (TDP) or a
 * #PF with a reserved bit set (shadow: `pf-rsvd`).
 */
export type VmExitReason =
  | 'ept-violation'
  | 'pf-intercept'
  | 'write-protect'
  | 'ept-write-protect'
  | 'ept-misconfig'
  | 'pf-rsvd'
  | 'kick'
  | 'done'
  | 'cr3'
  | 'invlpg';

const EXIT_TEXT: Record<VmExitReason, string> = {
  'ept-violation': 'EPT violation',
  'pf-intercept': '#PF intercepted',
  'write-protect': '#PF intercepted: write to a write-protected SPTE',
  'ept-write-protect': 'EPT violation: write to a write-protected SPTE',
  'ept-misconfig': 'EPT misconfiguration: MMIO SPTE',
  'pf-rsvd': '#PF intercepted: reserved bit, MMIO SPTE',
  kick: 'kick',
  // The vCPU ran its workload's accesses and stops: as a guest that idles, a HLT exit.
  done: 'HLT: its accesses are done',
  cr3: 'CR3 write',
  invlpg: 'INVLPG',
};

/**
 * A fault's outcome as the kernel names it: every retry is RET_PF_RETRY, and
 * the model says which check sent it back in parentheses.
 */
export const RET_PF_NAMES: Record<RetPf, string> = {
  fixed: 'RET_PF_FIXED',
  spurious: 'RET_PF_SPURIOUS',
  'retry-precheck': 'RET_PF_RETRY(precheck)',
  'retry-stale': 'RET_PF_RETRY(stale)',
  'retry-invalid-slot': 'RET_PF_RETRY(invalid_slot)',
  emulate: 'RET_PF_EMULATE',
  'inject-pf': 'RET_PF_RETRY(#PF injected)',
  'retry-gpte-changed': 'RET_PF_RETRY(gpte_changed)',
};

/** Roots by shadow page, "none" for an empty slot. */
function rootList(roots: readonly number[]): string {
  const held = roots.filter((r) => r >= 0);
  return held.length > 0 ? held.map((r) => `sp ${r}`).join(', ') : 'none';
}

/** Where an SPTE lies, as a counterexample names it: a TDP root, or a shadow page (not a root: a leaf table). */
function spteHolder(ev: { root: number; sp?: number }): string {
  return ev.sp !== undefined ? `sp ${ev.sp}` : `root ${ev.root}`;
}

/**
 * Who looked a shadow page up or made it, as the step log names it. Since v6.0
 * the kernel has no kvm_mmu_get_page function (the tracepoint keeps the name,
 * and so does --ftrace): a root comes from mmu_alloc_root, which calls
 * kvm_mmu_get_shadow_page; a page below it from FNAME(fetch)'s
 * kvm_mmu_get_child_sp. The model makes roots (shadow-roots.ts) and only roots
 * at ROOT_LEVEL, every child below it (ShadowMmu.map).
 */
function getShadowPageCaller(level: number): string {
  return level === ROOT_LEVEL ? 'kvm_mmu_get_shadow_page (from mmu_alloc_root)' : 'kvm_mmu_get_child_sp (from FNAME(fetch))';
}

/** "1 entry", "2 entries": a count of a dirty ring's entries. */
function entriesText(n: number): string {
  return `${n} ${n === 1 ? 'entry' : 'entries'}`;
}

/** The event as one line in kernel terms, for counterexamples and step logs. */
export function describeEvent(ev: KvmEventBody): string {
  switch (ev.e) {
    case 'guestAccess':
      return `guest ${ev.write ? 'write' : 'read'} gfn ${hex(ev.gfn)} → pfn ${hex(ev.pfn)} (via ${ev.via === 'tlb' ? 'TLB' : ev.afterWalk ? 'the SPTE walk it made above' : 'SPTE walk'})`;
    case 'guestWalk':
      return `guest write gfn ${hex(ev.gfn)}: SPTE walk finds pfn ${hex(ev.pfn)} writable (TLB filled); the store lands at vCPU${ev.vcpu}'s next line`;
    case 'vmEntry':
      return `VM-entry on root ${ev.root}${ev.apicPfn >= 0 ? `, APIC_ACCESS_ADDR pfn ${hex(ev.apicPfn)}` : ''}`;
    case 'vmExit':
      return `VM-exit (${EXIT_TEXT[ev.reason]}${ev.reason === 'invlpg' && ev.gfn !== undefined ? ` gva ${hex(ev.gfn)}` : ''})`;
    case 'entryCancelled':
      return `late check: requests pending (${requestList(ev.requests)}), VM-entry cancelled`;
    case 'faultBegin':
      return `page fault on gfn ${hex(ev.gfn)} (${ev.write ? 'write' : 'read'})`;
    case 'seqSnapshot':
      return `snapshot mmu_invalidate_seq=${ev.seq}`;
    case 'cr3Write':
      // kvm_set_cr3 calls kvm_mmu_new_pgd only for a value other than kvm_read_cr3's; either way it ends
      // in kvm_invalidate_pcid, which (no PCID: PCID 0, the active one) asks for a sync and a flush.
      return ev.cr3 !== ev.old
        ? `kvm_set_cr3: CR3 ${cr3Text(ev.old)} → ${cr3Text(ev.cr3)}: kvm_mmu_new_pgd, then kvm_invalidate_pcid(0) (KVM_REQ_MMU_SYNC, KVM_REQ_TLB_FLUSH_CURRENT)`
        : `kvm_set_cr3: CR3 ${cr3Text(ev.cr3)} again (the value loaded): no kvm_mmu_new_pgd${ev.root >= 0 ? `, root sp ${ev.root} stays` : ', kvm_mmu_load builds a root before entry'}; kvm_invalidate_pcid(0) (KVM_REQ_MMU_SYNC, KVM_REQ_TLB_FLUSH_CURRENT)`;
    case 'newPgd':
      return `kvm_mmu_new_pgd CR3 ${cr3Text(ev.pgd)}: ${ev.root >= 0 ? `root sp ${ev.root} (a cached one fits)` : 'no cached root fits, one is built before entry'}; prev_roots ${rootList(ev.prev)}`;
    case 'freeObsoleteRoots':
      return `kvm_mmu_free_obsolete_roots (current ${rootList([ev.current])}, prev_roots ${rootList(ev.prev)}): ${freeObsoleteVerdict(ev)}`;
    case 'memslotsPublish':
      return `publish memslots generation ${ev.generation}${ev.inProgress ? ' (update in progress)' : ''}: ${ev.what}`;
    case 'memslotsGeneration':
      return `memslots generation := ${ev.generation} (update done)`;
    case 'memslotLookup': {
      const found = ev.slot < 0 ? 'no memslot' : `memslot ${ev.slot}${ev.invalid ? ' (KVM_MEMSLOT_INVALID: being deleted or moved)' : ''}`;
      return ev.by === 'fault'
        ? `kvm_vcpu_gfn_to_memslot gfn ${hex(ev.gfn)}: ${found}`
        : `APIC-access page: id_to_memslot(APIC_ACCESS_PAGE_PRIVATE_MEMSLOT): ${found}`;
    }
    case 'mmioSpteSet':
      return `${ev.by === 'sync_mmio_spte' ? 'sync_mmio_spte: re-stamp' : 'install'} MMIO SPTE gfn ${hex(ev.gfn)} generation ${ev.gen}${ev.inProgress ? ' (read while an update was in progress)' : ''} in ${spteHolder(ev)}${ev.by === 'sync_mmio_spte' ? ' (its guest PTE still maps the gfn; no memslot lookup)' : ''}`;
    case 'mmioSpteZap':
      return `sync_mmio_spte (syncMmioSpte=zap): drop the MMIO SPTE of gfn 0x${ev.gfn.toString(16)} in sp ${ev.sp}`;
    case 'mmioGenWrap':
      return `memslots generation ${ev.generation} wrapped the MMIO SPTE generation: kvm_mmu_zap_all_fast`;
    case 'workloadPhase':
      return `guest workload phase ${ev.phase} (from ${ev.byAccess ? `access ${ev.start}` : fmtNs(ev.start)}): ${ev.pattern} over gfns [${hex(ev.gfnStart)},${hex(ev.gfnStart + ev.gfnCount)})`;
    case 'mmioCheck':
      return `handle_mmio_page_fault gfn ${hex(ev.gfn)}: MMIO SPTE generation ${ev.spteGen}, memslots ${ev.generation}${ev.gen !== ev.generation ? ` (${ev.gen} in the SPTE's bits)` : ''}${ev.inProgress ? ' (update in progress)' : ''}: ${ev.match ? 'match, emulate as MMIO' : 'mismatch, RET_PF_INVALID: full fault'}`;
    case 'precheck':
      return precheckText(ev);
    case 'staleCheck': {
      const root = ev.root < 0 ? 'no root' : `root ${ev.root}`;
      if (ev.rootObsolete) return `is_page_fault_stale gfn ${hex(ev.gfn)}: ${ev.root < 0 ? 'no root' : `${root} obsolete`}: stale: retry`;
      if (ev.noSlot) return `is_page_fault_stale gfn ${hex(ev.gfn)} (no memslot: only the root is checked): ${root} not obsolete: not stale`;
      const range = ev.inProgress > 0 ? ` range gfns [${hex(ev.rangeStart)},${hex(ev.rangeEnd)})` : '';
      const verdict = ev.stale ? 'stale: retry' : ev.skipped ? 'not stale (the mutant skipped what says stale)' : 'not stale';
      return `is_page_fault_stale gfn ${hex(ev.gfn)} (mmu_invalidate_in_progress=${ev.inProgress}${range}, mmu_invalidate_seq=${ev.seq}, snapshot ${ev.snapshot}): ${verdict}`;
    }
    case 'apicRetryCheck': {
      const range = ev.inProgress > 0 ? ` range gfns [${hex(ev.rangeStart)},${hex(ev.rangeEnd)})` : '';
      const verdict = !ev.retry ? 'no retry' : ev.ignored ? 'retry, ignored (the mutant writes the pfn all the same)' : 'retry';
      return `mmu_invalidate_retry_gfn APIC-access gfn ${hex(ev.gfn)} (mmu_invalidate_in_progress=${ev.inProgress}${range}, mmu_invalidate_seq=${ev.seq}, snapshot ${ev.snapshot}): ${verdict}`;
    }
    case 'trackWrite': {
      const entries = ev.through === ev.index + 1 ? `entry ${ev.index}` : `entries ${ev.index}-${ev.through - 1}`;
      if (ev.noShadowPages) return `kvm_mmu_track_write gfn ${hex(ev.gfn)} ${entries}: no indirect shadow pages, nothing to do`;
      const updated = ev.updated.map((sp, i) => {
        const n = ev.floodingCounts[i]!;
        return `sp ${sp}${n < 0 ? '' : ` (write flooding ${n} of ${WRITE_FLOODING_THRESHOLD})`}`;
      });
      const what =
        ev.updated.length === 0
          ? '0 shadow pages updated'
          : `${ev.updated.length} shadow page(s) updated: ${updated.join(', ')}, ${ev.dropped} present SPTE(s) zapped`;
      const flooded =
        ev.flooded.length === 0 ? '0 zapped (flooding)' : `${ev.flooded.length} zapped (flooding): ${ev.flooded.map((sp) => `sp ${sp}`).join(', ')}`;
      return `kvm_mmu_track_write gfn ${hex(ev.gfn)} ${entries}: ${what}; ${flooded}`;
    }
    case 'mutantActed':
      return ev.what;
    case 'gup':
      return `gfn ${hex(ev.gfn)}: hva ${hvaText(ev.hva)} → pfn ${hex(ev.pfn)} (get_user_pages)`;
    case 'faultEnd':
      return `page fault gfn ${hex(ev.gfn)}: ${RET_PF_NAMES[ev.ret]}`;
    case 'faultResolved':
      return `gfn ${hex(ev.gfn)}: the retried access went through without another fault`;
    case 'spteSet':
      return ev.newPfn < 0
        ? `zap SPTE gfn ${hex(ev.gfn)} (was pfn ${hex(ev.oldPfn)}) in ${spteHolder(ev)}`
        : `install SPTE gfn ${hex(ev.gfn)} → pfn ${hex(ev.newPfn)} in ${spteHolder(ev)}`;
    case 'invalidateRangeStart':
      return `${ev.kind}: invalidate_range_start [${hvaText(ev.hvaStart)},${hvaText(ev.hvaEnd)})`;
    case 'invalidateRangeStartDone':
      return `${ev.kind}: invalidate_range_start returns`;
    case 'invalidateRangeEnd':
      // Emitted as it returns, after kvm_mmu_invalidate_end (the start is logged as it is called).
      return `${ev.kind}: invalidate_range_end [${hvaText(ev.hvaStart)},${hvaText(ev.hvaEnd)}) returns`;
    case 'invalidateBegin':
      return `kvm_mmu_invalidate_begin: mmu_invalidate_in_progress=${ev.inProgress}`;
    case 'invalidateRangeAdd':
      return `kvm_mmu_invalidate_range_add: range now gfns [${hex(ev.start)},${hex(ev.end)})`;
    case 'invalidateEnd':
      return `kvm_mmu_invalidate_end: mmu_invalidate_seq=${ev.seq}, in_progress=${ev.inProgress}`;
    case 'hostPteChange':
      return ev.newPfn < 0
        ? `${ev.kind}: host PTE hva ${hvaText(ev.hva)} unmapped (was pfn ${hex(ev.oldPfn)})`
        : `${ev.kind}: host PTE hva ${hvaText(ev.hva)} pfn ${hex(ev.oldPfn)} → ${hex(ev.newPfn)}`;
    case 'pfnFree':
      return `${ev.kind}: free pfn ${hex(ev.pfn)}`;
    case 'remoteFlushBegin':
      return `kvm_flush_remote_tlbs (${ev.reason})`;
    case 'remoteFlushEnd':
      return `kvm_flush_remote_tlbs done, ${ev.vcpusKicked} vCPU(s) acknowledged`;
    case 'tlbFlush':
      return 'flush TLB';
    case 'request':
      return `make request ${REQUEST_NAMES[ev.req]} to vCPU${ev.vcpu}${ev.kicked ? ' (kick)' : ''}`;
    case 'requestServiced':
      return `service ${REQUEST_NAMES[ev.req]}`;
    case 'apicReload':
      return ev.outcome === 'set'
        ? `APIC_ACCESS_ADDR := pfn ${hex(ev.pfn)}`
        : ev.outcome === 'retry'
          ? 'invalidation in progress: re-request KVM_REQ_APIC_PAGE_RELOAD'
          : 'APIC-access memslot gone: nothing to reload';
    case 'rootAlloc':
      return `load root ${ev.root}`;
    case 'rootPut':
      return `put root ${ev.root} (count now ${ev.count})`;
    case 'rootFree':
      return `free root ${ev.root}`;
    case 'rootInvalidate':
      return `mark root ${ev.root} invalid${ev.inUse ? ' (in use by a vCPU)' : ''}`;
    case 'zapBatch':
      return ev.lockBreak
        ? `${ev.what}: batch of ${ev.pages} page(s) zapped; cond_resched_rwlock_write drops mmu_lock`
        : `${ev.what}: walk done, its last batch ${ev.pages} page(s)${ev.left ? `, ${ev.left} page(s) left unzapped` : ''}`;
    case 'zapAllBegin':
      return `${ev.how}: begin (${ev.pages} shadow page${ev.pages === 1 ? '' : 's'})`;
    case 'zapAllEnd':
      return `${ev.how}: done in ${ev.durationNs} ns`;
    case 'shadowReclaim':
      return `kvm_mmu_zap_oldest_mmu_pages: ${ev.zapped} oldest page(s) zapped of ${ev.wanted} wanted (n_used_mmu_pages ${ev.used}, n_max_mmu_pages ${ev.max}); commit ${ev.flush ? 'flushes remote TLBs, then frees' : "frees without a remote TLB flush (the mutant's)"}`;
    case 'lockBreak':
      return `${ev.holder}: mmu_lock contended, drop and re-take${ev.left === undefined ? '' : ` (${ev.left} page${ev.left === 1 ? '' : 's'} left to zap)`}${ev.offNs === undefined ? '' : `; ${ev.others} acquisition${ev.others === 1 ? '' : 's'} by others in the break, lock back after ${ev.offNs} ns`}`;
    case 'zapResumed':
      return `${ev.holder}: lock re-taken, the walk of root ${ev.root} goes on: no SPTE left to zap${ev.end < Number.MAX_SAFE_INTEGER ? ` up to gfn ${hex(ev.end)}` : ''}${ev.flushPending ? ' (a flush still pending)' : ', no flush pending'}`;
    case 'memslotChange':
      return `memslot ${ev.slot} ${ev.op}: ${ev.phase}`;
    case 'spCreate':
      return `${getShadowPageCaller(ev.level)}: sp ${ev.sp} gfn ${hex(ev.gfn)} level ${ev.level}${ev.direct ? ' direct' : ''} gen ${ev.gen}`;
    case 'spFound':
      return `${getShadowPageCaller(ev.level)}: sp ${ev.sp} gfn ${hex(ev.gfn)} level ${ev.level} gen ${ev.gen} existing${ev.synced ? ' (unsync: kvm_sync_page rebuilt it from the guest table first; it stays unsync)' : ''}`;
    case 'spZap':
      return `kvm_mmu_prepare_zap_page: sp ${ev.sp} gfn ${hex(ev.gfn)} level ${ev.level}${ev.root ? ' (root in use)' : ''}`;
    case 'spZapInvalid':
      return `kvm_mmu_prepare_zap_page: sp ${ev.sp} gfn ${hex(ev.gfn)} level ${ev.level} (invalid: zapped before, its last root reference gone)`;
    case 'spFree':
      return `free sp ${ev.sp}`;
    case 'spUnsync':
      return `kvm_unsync_page: sp ${ev.sp} gfn ${hex(ev.gfn)} level ${ev.level} unsync, its gfn mapped writable`;
    case 'spSync':
      return ev.by === 'mmu_sync_children'
        ? `mmu_sync_children: kvm_unlink_unsync_page sp ${ev.sp} gfn ${hex(ev.gfn)} level ${ev.level} below root ${ev.root} (its gfn write-protected), then kvm_sync_page rebuilds it from the guest table`
        : `__kvm_mmu_prepare_zap_page: kvm_unlink_unsync_page sp ${ev.sp} gfn ${hex(ev.gfn)} level ${ev.level} (zapped while unsync)`;
    case 'gfnWriteProtected':
      return ev.flush === 'skipped'
        ? `${ev.by}: gfn ${hex(ev.gfn)} write-protected, not flushed (the mutant's): KVM relies on a guest write to it trapping from here on`
        : `${ev.by}: gfn ${hex(ev.gfn)} write-protected, ${ev.flush === 'done' ? 'flushed' : 'no leaf was writable'}: a guest write to it traps from here on`;
    case 'injException':
      return `kvm_inject_exception: ${EXCEPTION_NAMES[ev.vector] ?? `vector ${ev.vector}`} (error code ${hex(ev.errorCode)}) into the guest${ev.reinjected ? ', again (the entry it was injected for was cancelled)' : ''}`;
    case 'invlpg':
      return `kvm_mmu_invlpg gva ${hex(ev.gva)}: kvm_x86_flush_tlb_gva (${ev.tlbEntry ? "this vCPU's TLB entry of it flushed" : 'no TLB entry of it'}), then the roots (KVM_MMU_ROOTS_ALL)`;
    case 'invlpgSyncSpte':
      return `__kvm_mmu_invalidate_addr gva ${hex(ev.gva)} in ${ev.prev ? 'previous ' : ''}root ${ev.root}: unsync sp ${ev.sp}, FNAME(sync_spte): ${SYNC_SPTE_TEXT[ev.result]}${ev.flush === 'done' ? ', kvm_flush_remote_tlbs_gfn' : ev.flush === 'skipped' ? ", no remote flush (the mutant's: this vCPU's entry only)" : ''}`;
    case 'mmuValidGen':
      return `mmu_valid_gen := ${ev.gen}`;
    case 'dirtyLogEnable':
      if (ev.initiallySet) {
        return ev.phase === 'begin'
          ? `KVM_SET_USER_MEMORY_REGION memslot ${ev.slot} flags KVM_MEM_LOG_DIRTY_PAGES: KVM_DIRTY_LOG_INITIALLY_SET, the dirty bitmap all set`
          : 'KVM_SET_USER_MEMORY_REGION returns: kvm_mmu_slot_apply_flags write-protects nothing (initially all set: every page counts as dirty)';
      }
      return ev.phase === 'begin'
        ? `KVM_SET_USER_MEMORY_REGION memslot ${ev.slot} flags KVM_MEM_LOG_DIRTY_PAGES: kvm_mmu_slot_apply_flags write-protects the slot`
        : `KVM_SET_USER_MEMORY_REGION returns: ${ev.leaves} leaf/leaves write-protected, ${flushText(ev.flush, 'kvm_flush_remote_tlbs_memslot')}`;
    case 'dirtyLogHarvest':
      if (ev.manual) {
        return ev.phase === 'copied'
          ? `KVM_GET_DIRTY_LOG #${ev.n}: copy_to_user reads the bitmap's word: dirty gfns ${gfnList(ev.gfns)}, left set (manual protect)`
          : `KVM_GET_DIRTY_LOG #${ev.n} returns the bitmap (gfns ${gfnList(ev.gfns)}): nothing cleared or write-protected, no flush (manual protect: KVM_CLEAR_DIRTY_LOG's)`;
      }
      return ev.phase === 'taken'
        ? ev.gfns.length === 0
          ? `KVM_GET_DIRTY_LOG #${ev.n}: no dirty bit in the bitmap's word, nothing taken`
          : `KVM_GET_DIRTY_LOG #${ev.n}: xchg takes dirty gfns ${gfnList(ev.gfns)}; kvm_arch_mmu_enable_log_dirty_pt_masked write-protects them`
        : `KVM_GET_DIRTY_LOG #${ev.n} returns the bitmap (gfns ${gfnList(ev.gfns)}), ${flushText(ev.flush, 'kvm_flush_remote_tlbs_memslot')}`;
    case 'dirtyLogClear':
      if (ev.phase === 'returned')
        return `KVM_CLEAR_DIRTY_LOG (after #${ev.n}) returns: gfns ${gfnList(ev.gfns)} cleared, ${flushText(ev.flush, 'kvm_flush_remote_tlbs_memslot')}`;
      if (ev.phase === 'read') {
        // Not "the mutant": a line says so once per act (test/kvm/mutant-acted.test.ts), and the write back is the act.
        const w = ev.word === undefined ? '' : ` of gfns ${hex(ev.word[0])}–${hex(ev.word[1] - 1)}`;
        return `KVM_CLEAR_DIRTY_LOG (after #${ev.n}): plain read of the bitmap word${w} (no atomic_long_fetch_andnot: clear-dirty-log-plain-andnot writes it back in a later step): bits set for gfns ${gfnList(ev.gfns)}; to clear ${gfnList(ev.mask)}`;
      }
      return (
        (ev.plain
          ? `KVM_CLEAR_DIRTY_LOG (after #${ev.n}): plain write back of the word (the mutant's): as read, less gfns ${gfnList(ev.mask)}, clears ${gfnList(ev.gfns)}`
          : `KVM_CLEAR_DIRTY_LOG (after #${ev.n}): atomic_long_fetch_andnot of gfns ${gfnList(ev.mask)} clears ${gfnList(ev.gfns)}`) +
        (ev.gfns.length > 0 ? '; kvm_arch_mmu_enable_log_dirty_pt_masked write-protects them' : '') +
        (ev.lost !== undefined ? `; the bit of gfn(s) ${gfnList(ev.lost)}, set since the read, is lost` : '')
      );
    case 'dirtyLogWrprot':
      return `${ev.by}: gfn ${hex(ev.gfn)} leaf write-protected${ev.wasWritable ? '' : ' (none was writable)'}`;
    case 'dirtyLogCopy':
      return `VMM copies gfn ${hex(ev.gfn)} (${ev.n === 0 ? 'the first full copy' : ev.ring ? `collected from the dirty rings, copy round #${ev.n}` : `reported by KVM_GET_DIRTY_LOG #${ev.n}`})`;
    case 'markPageDirty':
      return `${ev.fast ? 'fast_pf_fix_direct_spte: ' : ev.wpFault ? 'write to a write-protected leaf: make_spte makes it writable, ' : ''}mark_page_dirty_in_slot: gfn ${hex(ev.gfn)} dirty in memslot ${ev.slot}${ev.already ? ' (already)' : ''}`;
    case 'dirtyRingPush':
      return (
        `mark_page_dirty_in_slot → kvm_dirty_ring_push: gfn ${hex(ev.gfn)} into vCPU${ev.vcpu}'s dirty ring, index ${ev.index} (entry ${ev.index & (ev.size - 1)} of ${ev.size}), flags DIRTY` +
        (ev.index - ev.resetIndex >= ev.size
          ? ` (the ring was full: the kernel WARNs here, kvm_dirty_ring_full; ${ev.overwrote !== undefined ? `it overwrites the uncollected entry of gfn ${hex(ev.overwrote)}` : 'it overwrites a collected entry not yet reset'})`
          : '') +
        (ev.softFull ? '; the ring is soft full: KVM_REQ_DIRTY_RING_SOFT_FULL' : '')
      );
    case 'dirtyRingRoom':
      return `kvm_dirty_ring_check_request: KVM_REQ_DIRTY_RING_SOFT_FULL cleared, a reset made room (the ring no longer soft full, ${entriesText(ev.used)} used): no exit`;
    case 'dirtyRingExit':
      return `kvm_dirty_ring_check_request: the ring is soft full (${entriesText(ev.used)} not reset): KVM_EXIT_DIRTY_RING_FULL to userspace, no VM-entry`;
    case 'dirtyRingCollect':
      return `VMM collects vCPU${ev.vcpu}'s dirty ring (collection #${ev.n}${ev.by === 'exit' ? ", on the vCPU's KVM_EXIT_DIRTY_RING_FULL" : ''}): gfns ${gfnList(ev.gfns)} recorded, their entries' flags set RESET`;
    case 'dirtyRingSync':
      return `VMM's migration bitmap sync (after collection #${ev.n}): collected gfns ${gfnList(ev.gfns)} become pages to copy`;
    case 'dirtyRingReset':
      if (ev.phase === 'ring') {
        const used = ev.dirtyIndex - ev.resetIndex;
        return `KVM_RESET_DIRTY_RINGS (after collection #${ev.n}): done with vCPU${ev.vcpu}'s ring, ${entriesText(ev.entries)} reset (reset_index ${ev.resetIndex}, dirty_index ${ev.dirtyIndex}: ${used} used)`;
      }
      if (ev.phase === 'entry')
        return `KVM_RESET_DIRTY_RINGS (after collection #${ev.n}): vCPU${ev.vcpu}'s harvested entry of gfn ${hex(ev.gfns[0]!)} free again, reset_index ${ev.entries} (the gfn write-protected with its mask, below)`;
      return ev.phase === 'mask'
        ? `KVM_RESET_DIRTY_RINGS (after collection #${ev.n}): kvm_reset_dirty_gfn write-protects vCPU${ev.vcpu}'s harvested gfns ${gfnList(ev.gfns)}`
        : `KVM_RESET_DIRTY_RINGS (after collection #${ev.n}) returns: ${entriesText(ev.entries)} reset, ${flushText(ev.flush, 'kvm_flush_remote_tlbs')}`;
    case 'fastPfGetSpte':
      return `fast_page_fault gfn ${hex(ev.gfn)}: lockless read of the leaf: spte ${ev.accessTracked ? trackedText(ev.pfn) : leafText(ev.pfn, ev.writable)}`;
    case 'fastPfCmpxchg':
      if (ev.restore !== undefined) return restoreText(ev);
      if (ev.plain) {
        const over = ev.curPfn === ev.oldPfn && !ev.curWritable ? '' : ` over ${leafText(ev.curPfn, ev.curWritable)}`;
        return `fast_page_fault gfn ${hex(ev.gfn)}: spte ${leafText(ev.oldPfn, false)} → ${leafText(ev.oldPfn, true)} (plain store${over}, no cmpxchg: the mutant's)`;
      }
      return ev.ok
        ? `fast_page_fault gfn ${hex(ev.gfn)}: spte ${leafText(ev.oldPfn, false)} → ${leafText(ev.oldPfn, true)} (cmpxchg ok)`
        : `fast_page_fault gfn ${hex(ev.gfn)}: cmpxchg failed (spte now ${leafText(ev.curPfn, ev.curWritable)}), retry`;
    case 'fastPageFault':
      if (ev.notPresent !== undefined) return fastPfNotPresentText(ev);
      return ev.ret === 'fixed'
        ? `fast_page_fault gfn ${hex(ev.gfn)}: RET_PF_FIXED without mmu_lock`
        : ev.ret === 'spurious'
          ? `fast_page_fault gfn ${hex(ev.gfn)}: spte ${leafText(ev.oldPfn, true)} already allows the write: RET_PF_SPURIOUS`
          : `fast_page_fault gfn ${hex(ev.gfn)}: ${ev.oldPfn < 0 ? 'spte not present' : `gave up after ${ev.retries} failed cmpxchgs`}: RET_PF_INVALID, the slow path`;
    case 'ageHva':
      return `clear_flush_young [${hvaText(ev.hvaStart)},${hvaText(ev.hvaEnd)}): kvm_age_gfn (no TLB flush: KVM_ELIDE_TLB_FLUSH_IF_YOUNG)`;
    case 'ageSpteRead':
      if (ev.noAd) {
        return `kvm_age_gfn: read SPTE gfn ${hex(ev.gfn)} → pfn ${hex(ev.pfn)} in ${spteHolder(ev)}: ${ev.young ? 'present (no A/D bits: accessed unless access-tracked)' : 'access-tracked (not accessed)'}`;
      }
      return `${ev.sp !== undefined ? 'kvm_age_rmap' : 'kvm_age_gfn'}: read SPTE gfn ${hex(ev.gfn)} → pfn ${hex(ev.pfn)} in ${spteHolder(ev)}: ${ev.young ? 'Accessed' : 'not accessed'}`;
    case 'ageSpteMark':
      return ageMarkText(ev);
    case 'ageSpte':
      if (ev.plain) {
        return `kvm_age_gfn: plain store of SPTE gfn ${hex(ev.gfn)} → pfn ${hex(ev.pfn)} without the Accessed bit over ${ev.curPfn < 0 ? 'not present' : `pfn ${hex(ev.curPfn)}`}, no atomic AND: the mutant's`;
      }
      return ev.curPfn < 0
        ? `kvm_age_gfn: atomic AND of the Accessed bit of SPTE gfn ${hex(ev.gfn)}: zapped since the read, stays not present`
        : `${ev.sp !== undefined ? 'kvm_age_rmap' : 'kvm_age_gfn'}: clear the Accessed bit of SPTE gfn ${hex(ev.gfn)} → pfn ${hex(ev.curPfn)} in ${spteHolder(ev)}`;
    case 'folioReferenced':
      return ev.young
        ? `reclaim: folio_referenced [${hvaText(ev.hvaStart)},${hvaText(ev.hvaEnd)}): young, the page is kept`
        : `reclaim: folio_referenced [${hvaText(ev.hvaStart)},${hvaText(ev.hvaEnd)}): old, the page is reclaimed`;
    case 'note':
      return ev.text;
  }
}

/**
 * The lockless pre-check's line: the values it read, as is_page_fault_stale's
 * line has them (the range only while the count it read is non-zero), and why
 * it retries: the gfn in the in-progress range, or the seq moved past the snapshot.
 */
function precheckText(ev: KvmEvent & { e: 'precheck' }): string {
  const name = ev.afterGup ? 'lockless check after get_user_pages' : 'lockless pre-check';
  const kept = ev.kept ? " (kept from an earlier read: no READ_ONCE, the mutant's)" : '';
  const noRange = ev.rangeStart === INVALID_GPA;
  // A kept count may outlive its invalidation: the range it is compared with is then the last one's, which
  // kvm_mmu_invalidate_end leaves in place (only the next kvm_mmu_invalidate_begin resets it).
  const left = ev.kept ? ' (left by kvm_mmu_invalidate_end)' : '';
  const range = ev.inProgress > 0 ? (noRange ? ' range none added yet' : ` range gfns [${hex(ev.rangeStart)},${hex(ev.rangeEnd)})${left}`) : '';
  const inRange = ev.inProgress > 0 && !noRange && ev.gfn >= ev.rangeStart && ev.gfn < ev.rangeEnd;
  const why = inRange ? 'gfn in the range' : 'mmu_invalidate_seq moved past the snapshot';
  const verdict = ev.retry ? `retry${ev.afterGup ? ', releasing the pfn' : ''} (${why})` : 'go on';
  return `${name} gfn ${hex(ev.gfn)}: mmu_invalidate_in_progress=${ev.inProgress}${kept}${range}, mmu_invalidate_seq=${ev.seq}, snapshot ${ev.snapshot}: ${verdict}`;
}

/** What kvm_mmu_free_obsolete_roots did: the roots it frees, and any obsolete one it kept (only a mutant's test keeps one). */
function freeObsoleteVerdict(ev: KvmEvent & { e: 'freeObsoleteRoots' }): string {
  const kept = ev.kept.length > 0 ? `keeps obsolete ${rootList(ev.kept)} cached (judged by the current root)` : '';
  if (ev.freed.length > 0) return `decides to free ${rootList(ev.freed)} (kvm_mmu_free_roots frees, under mmu_lock)${kept ? `; ${kept}` : ''}`;
  return kept ? `frees none: ${kept}` : 'finds none obsolete';
}

/** An access-tracked leaf as the step log says it: the pfn it keeps, RWX cleared (R and X saved). */
function trackedText(pfn: number): string {
  return `pfn ${hex(pfn)} access-tracked (---, not present to the hardware)`;
}

/** A leaf as the step log says it, access-tracked or not. */
function anyLeafText(pfn: number, writable: boolean, tracked: boolean): string {
  return tracked && pfn >= 0 ? trackedText(pfn) : leafText(pfn, writable);
}

/** fast_page_fault's cmpxchg where a leaf was access-tracked (eptAdBits=off). */
function restoreText(ev: KvmEvent & { e: 'fastPfCmpxchg' }): string {
  const g = `fast_page_fault gfn ${hex(ev.gfn)}`;
  const cur = anyLeafText(ev.curPfn, ev.curWritable, ev.curAccessTracked === true);
  if (!ev.restore) {
    return ev.ok ? `${g}: spte ${leafText(ev.oldPfn, false)} → ${leafText(ev.oldPfn, true)} (cmpxchg ok)` : `${g}: cmpxchg failed (spte now ${cur}), retry`;
  }
  const next = `${leafText(ev.oldPfn, ev.newWritable === true)} (restore_acc_track_spte${ev.newWritable ? ', W set for the write' : ''}`;
  if (ev.plain) {
    const over = ev.curPfn === ev.oldPfn && ev.curAccessTracked ? '' : ` over ${cur}`;
    return `${g}: spte ${trackedText(ev.oldPfn)} → ${next}; plain store${over}, no cmpxchg: the mutant's)`;
  }
  return ev.ok ? `${g}: spte ${trackedText(ev.oldPfn)} → ${next}; cmpxchg ok)` : `${g}: restore_acc_track_spte's cmpxchg failed (spte now ${cur}), retry`;
}

/** fast_page_fault's end for a fault on a leaf not present (eptAdBits=off). */
function fastPfNotPresentText(ev: KvmEvent & { e: 'fastPageFault' }): string {
  const g = `fast_page_fault gfn ${hex(ev.gfn)} (${ev.notPresent} fault, leaf not present to the hardware)`;
  if (ev.ret === 'fixed') return `${g}: RET_PF_FIXED without mmu_lock${ev.accessTracked ? ' (access tracking undone)' : ''}`;
  if (ev.ret === 'spurious') return `${g}: spte ${leafText(ev.oldPfn, ev.oldWritable)} already allows the ${ev.notPresent}: RET_PF_SPURIOUS`;
  return `${g}: ${ev.oldPfn < 0 ? 'spte not present' : `gave up after ${ev.retries} failed cmpxchgs`}: RET_PF_INVALID, the slow path`;
}

/** kvm_age_gfn's mark_spte_for_access_track store (eptAdBits=off). */
function ageMarkText(ev: KvmEvent & { e: 'ageSpteMark' }): string {
  const g = `kvm_age_gfn: mark_spte_for_access_track of SPTE gfn ${hex(ev.gfn)} in root ${ev.root}`;
  const marked = trackedText(ev.pfn);
  const cur = anyLeafText(ev.curPfn, ev.curWritable, ev.curTracked);
  if (ev.plain) {
    const over = ev.curPfn === ev.pfn && !ev.curTracked ? '' : ` over ${cur}`;
    return `${g}: plain store of pfn ${hex(ev.pfn)} as read → ${marked}${over}, no cmpxchg: the mutant's`;
  }
  if (!ev.lockless) return `${g} (mmu_lock held for write): pfn ${hex(ev.pfn)} → ${marked}`;
  return ev.ok ? `${g}: cmpxchg pfn ${hex(ev.pfn)} → ${marked}` : `${g}: cmpxchg failed (spte now ${cur}), not retried: left as it is`;
}

/** A leaf SPTE as the fast path's step log says it: its pfn and access, or not present. */
function leafText(pfn: number, writable: boolean): string {
  return pfn < 0 ? 'not present' : `pfn ${hex(pfn)} ${writable ? 'rwx' : 'r-x'}`;
}

/** The flush an ioctl of dirty logging makes before it returns, as the step log says it. */
function flushText(flush: WriteProtectFlush, what: string): string {
  return flush === 'done' ? `after ${what}` : flush === 'skipped' ? `with no ${what} (the mutant's)` : 'nothing to flush';
}

function gfnList(gfns: readonly number[]): string {
  return gfns.length === 0 ? 'none' : gfns.map(hex).join(', ');
}

export function requestList(bits: number): string {
  const out: string[] = [];
  for (let i = 0; i < REQUEST_NAMES.length; i++) if (bits & (1 << i)) out.push(REQUEST_NAMES[i]!);
  return out.join(', ');
}
