import type { Settings } from '../kvm/settings.js';
import type { Violation } from '../runtime/instance.js';
import type { ScenarioSize } from '../scenario/size.js';

/**
 * Percentiles of a latency distribution, ns (Distribution): nearest rank, exact
 * while the values take at most 4,096 distinct values, else HDR estimates at
 * most 0.1% high; all 0 when nothing was observed.
 */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  /** The largest value observed, exact. */
  max: number;
}

/** The full result of one simulated run; documented in the README. Stable, camelCase. */
export interface RunResult {
  format: 'mmulab-run/1';
  scenario: string;
  /**
   * The scenario's content as run (defaults filled in, resized by the size knobs):
   * its SHA-256 (scenario/digest.ts), so that a run of an edited copy of a built-in,
   * which keeps the built-in's name, is told apart from the built-in's.
   */
  scenarioDigest: string;
  seed: number;
  settings: Settings;
  /** The size knobs the scenario was resized by (`run --set vcpus=2`), when any: the scenario named ran at this size. */
  size?: ScenarioSize;
  mutant: string | null;
  /**
   * With a mutant: the times it made the model do what the kernel would not
   * have done (Mutation.acted). 0: the run is the kernel protocol's.
   */
  mutantActed?: number;
  /** Virtual time simulated, ns. */
  simTimeNs: number;
  /** Scheduler steps run. */
  steps: number;
  metrics: {
    /**
     * Page faults taken (the kernel's pf_taken) and how each ended:
     * total = fixed + spurious + emulated + retries + injectedPf + inFlight, and
     * retries = retriesBeforeLock + retriesUnderLock + retriesInvalidSlot + retriesGpteChanged.
     */
    faults: {
      total: number;
      /** RET_PF_FIXED (pf_fixed). */
      fixed: number;
      /** Of fixed and spurious, those fast_page_fault resolved without mmu_lock (pf_fast); present only when the scenario logs a slot. */
      fast?: number;
      retries: number;
      retriesBeforeLock: number;
      retriesUnderLock: number;
      retriesInvalidSlot: number;
      /** Shadow paging: RET_PF_RETRY for a guest PTE changed since the walk (FNAME(gpte_changed)). */
      retriesGpteChanged: number;
      /** RET_PF_SPURIOUS (pf_spurious). */
      spurious: number;
      /** Faults that ended RET_PF_EMULATE (pf_emulate); the MMIO fast path's emulations are `mmio.fastPath`. */
      emulated: number;
      /** Shadow paging: the guest's PTE was not present, its #PF injected. */
      injectedPf: number;
      /** Begun and not ended when the run stopped. */
      inFlight: number;
      /** Per resolved fault (fixed, spurious, emulated, or gone through after retries). */
      latencyNs: Percentiles;
    };
    /** handle_mmio_page_fault's RET_PF_EMULATE: accesses emulated on an MMIO SPTE without a fault (no pf_taken). */
    mmio: { fastPath: number };
    mmuLock: {
      readAcquires: number;
      writeAcquires: number;
      contended: number;
      waitNs: { p50: number; p99: number; max: number };
      writeHoldNs: { max: number };
      lockBreaks: number;
      /**
       * Lock breaks (a cond_resched that dropped mmu_lock, any holder's) in which
       * another thread took mmu_lock before the holder had it back; the mmu_lock
       * acquisitions by other threads in all breaks; the longest a holder was
       * without the lock, drop to re-take, ns (optional: sweep parts written
       * before they were added hold none).
       */
      breaksYielded?: number;
      breakAcquires?: number;
      breakOffMaxNs?: number;
    };
    /** `invlpg`: the kernel's invlpg stat (kvm_mmu_invlpg), present only when some vCPU's munmap flushes with INVLPG under shadow paging (workload.munmapFlush). */
    tlb: { remoteFlushes: number; vcpuFlushes: number; invlpg?: number };
    /**
     * Dirty logging (host.dirtyLog), present only when the scenario logs a slot:
     * KVM_GET_DIRTY_LOG calls returned and the pages they reported, leaves made
     * read-only, dirty bits faults set, and write faults on write-protected leaves;
     * under manual protect (host.dirtyLog.protect `manual*`) only, the
     * KVM_CLEAR_DIRTY_LOG calls returned and the dirty bits they cleared.
     */
    dirtyLog?: {
      harvests: number;
      pagesHarvested: number;
      leavesWriteProtected: number;
      pagesMarked: number;
      wpFaults: number;
      /** The VMM's page copies, its first full copy's included, under every flavour. */
      pagesCopied: number;
      clears?: number;
      pagesCleared?: number;
      /**
       * With dirty rings (host.dirtyLog.mode `ring`) only: entries pushed,
       * KVM_EXIT_DIRTY_RING_FULL exits, ring collections that found entries
       * and the gfns they collected, KVM_RESET_DIRTY_RINGS calls and the
       * entries they reset. pagesMarked stays 0 there (no bitmap): pushes
       * count the marks.
       */
      ring?: {
        pushes: number;
        fullExits: number;
        collections: number;
        pagesCollected: number;
        resets: number;
        entriesReset: number;
      };
    };
    /**
     * Reclaim's aging (host.invalidations[].age), present only when some reclaim
     * ages: folio_referenced (clear_flush_young) calls, and the pages it found
     * young (an Accessed bit set: kept) or old (reclaimed).
     */
    aging?: {
      aged: number;
      young: number;
      old: number;
      /**
       * Without EPT A/D bits (TDP, eptAdBits=off), present only there: leaves
       * kvm_age_gfn marked for access tracking (mark_spte_for_access_track), its
       * marks whose cmpxchg failed (the leaf changed since the read: left as it
       * is), and access-tracked leaves fast_page_fault restored
       * (restore_acc_track_spte, without mmu_lock).
       */
      accessTrack?: { marked: number; markFailed: number; restored: number };
    };
    /** Leaf SPTEs installed by faults, and zapped by anyone (invalidations.sptesZapped are the notifiers' among them). */
    sptes: { installed: number; zapped: number };
    invalidations: { started: number; completed: number; sptesZapped: number; durationNs: Percentiles };
    /** `stalls`, `stallMaxNs`: the stalls stalledNs sums (each vCPU's, first re-request to the reload that set the page) and the longest. */
    apic: { reloads: number; reRequests: number; stalledNs: number; stalls: number; stallMaxNs: number; requestToEntryNs: number };
    guest: { accesses: number; entries: number; entriesCancelled: number };
    /** `recycled`: pages the reclaim zapped to make room (kvm_mmu_zap_oldest_mmu_pages; the kernel's mmu_recycled), counted in `zapped` too. */
    shadowPages: { created: number; zapped: number; peak: number; recycled: number };
    roots: {
      allocated: number;
      freed: number;
      reloads: number;
      /** Reloads of roots a vCPU had dropped on a root-zap request (KVM_REQ_MMU_RELOAD / _FREE_OBSOLETE_ROOTS). */
      reloadsAfterZap: number;
      /**
       * Roots zapped while a vCPU held them: shadow paging, pages zapped while some vCPU held them as a
       * current or previous root; TDP, roots kvm_tdp_mmu_invalidate_all_roots marked invalid while a vCPU held a reference.
       */
      zappedInUse: number;
    };
    /**
     * `validGen`: mmu_valid_gen when the run ended; `validGenToggles`: the times
     * kvm_mmu_zap_all_fast toggled it (threads 000, 002; optional: sweep parts
     * written before they were added hold none).
     */
    zapAll: { started: number; completed: number; maxDurationNs: number; validGen?: number; validGenToggles?: number };
    /** `started`: the memslot changes that began; `changes`: those that completed (one hung in its flush, a lock-break zap-all that livelocked, is started only). */
    memslots: { started: number; changes: number };
  };
  violations: Violation[];
  progress: {
    /** Work was pending with no progress for longer than the livelock bound. */
    livelock: boolean;
    /** What was stuck, and for how long, when livelock is true. */
    stalled: string | null;
  };
  /** The run stopped early (interrupt, step bound) and holds what was measured so far. */
  partial: boolean;
  /** Internal model inconsistency (a ModelBug), if one stopped the run. */
  modelBug: string | null;
  /** Wall-clock milliseconds: the only field that differs between identical runs. */
  wallMs: number;
}
