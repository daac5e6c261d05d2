import type { EventStamp, KvmEvent, Sink } from '../kvm/events.js';
import { KVM_REQ_APIC_PAGE_RELOAD } from '../kvm/requests.js';
import { ApicStallTracker } from './apic-stall-tracker.js';
import { Distribution } from './distribution.js';

/** Key of a (vCPU, guest CR3) pair in Metrics.loadedOnce; TDP roots have no CR3. */
function loadKey(vcpu: number, pgd: number | undefined): number {
  return (pgd ?? -1) * 4096 + 4096 + vcpu;
}

/** The event kinds Metrics reads (one array for all instances: see event-routes.ts). */
const METRICS_KINDS: readonly KvmEvent['e'][] = [
  'faultBegin',
  'faultEnd',
  'faultResolved',
  'mmioCheck',
  'remoteFlushBegin',
  'tlbFlush',
  'invalidateRangeStart',
  'invalidateRangeStartDone',
  'invalidateRangeEnd',
  'spteSet',
  'apicReload',
  'request',
  'guestAccess',
  'vmEntry',
  'entryCancelled',
  'lockBreak',
  'rootAlloc',
  'rootFree',
  'rootInvalidate',
  'spCreate',
  'spZap',
  'spFree',
  'zapAllBegin',
  'zapAllEnd',
  'mmuValidGen',
  'shadowReclaim',
  'memslotChange',
  'invlpg',
  'dirtyLogHarvest',
  'dirtyLogClear',
  'dirtyLogWrprot',
  'markPageDirty',
  'dirtyRingPush',
  'dirtyRingExit',
  'dirtyRingCollect',
  'dirtyRingReset',
  'dirtyLogCopy',
  'fastPageFault',
  'folioReferenced',
  'ageSpteMark',
  'fastPfCmpxchg',
];

/** Counts what a kernel developer asks about a run, from the model's events. */
export class Metrics implements Sink {
  /** Faults taken (kvm_mmu_do_page_fault's pf_taken): every faultBegin, the MMIO fast path's hits not among them. */
  faults = 0;
  /** Faults that ended (a faultEnd, any outcome): faults - faultsEnded are in flight. */
  faultsEnded = 0;
  /** RET_PF_FIXED: the kernel's pf_fixed. */
  fixed = 0;
  /** fast_page_fault returned other than RET_PF_INVALID (the kernel's pf_fast): fixed or spurious without mmu_lock, counted there too. */
  fast = 0;
  /** Every RET_PF_RETRY but the injected #PF's: the four kinds below. */
  retries = 0;
  retriesBeforeLock = 0;
  retriesUnderLock = 0;
  retriesInvalidSlot = 0;
  retriesGpteChanged = 0;
  /** RET_PF_SPURIOUS: the kernel's pf_spurious. */
  spurious = 0;
  /** Faults that ended RET_PF_EMULATE (kvm_mmu_do_page_fault's pf_emulate): no MMIO fast-path hit. */
  emulated = 0;
  /** FNAME(walk_addr) found the guest's PTE not present: the #PF goes to the guest (RET_PF_RETRY in the kernel, counted in no stat of its own). */
  injectedPf = 0;
  /**
   * handle_mmio_page_fault returned RET_PF_EMULATE (the MMIO SPTE's generation
   * matched): emulated without a fault, before pf_taken. The kernel has no stat
   * of these alone (its mmio_exits counts exits to userspace for MMIO, from
   * either path).
   */
  mmioFastPath = 0;
  /**
   * First exit of an access to its resolution, per resolved fault: fixed,
   * spurious, emulated (RET_PF_EMULATE), or after retries the access going
   * through (faultResolved: another vCPU mapped the page, or the MMIO fast path
   * emulated it). Not an injected #PF: KVM resolves nothing.
   */
  readonly faultLatency = new Distribution();
  remoteFlushes = 0;
  tlbFlushes = 0;
  /** INVLPG exits handled (kvm_mmu_invlpg): the kernel's invlpg stat. */
  invlpg = 0;
  /** Dirty logging: KVM_GET_DIRTY_LOG calls returned, and the dirty pages they reported in all. */
  dirtyHarvests = 0;
  dirtyPagesHarvested = 0;
  /** Manual protect: KVM_CLEAR_DIRTY_LOG calls returned, and the dirty bits they cleared in all. */
  dirtyClears = 0;
  dirtyPagesCleared = 0;
  /** Leaves dirty logging made read-only (the enable's and the harvests'). */
  dirtyLeavesWriteProtected = 0;
  /** Dirty bits faults set (mark_page_dirty_in_slot on a clear bit), and the write faults on a write-protected leaf among the faults that marked. */
  dirtyPagesMarked = 0;
  dirtyWpFaults = 0;
  /**
   * The dirty ring: entries pushed; KVM_EXIT_DIRTY_RING_FULL exits; collections
   * of a ring that found entries, and the gfns they collected;
   * KVM_RESET_DIRTY_RINGS calls returned, and the entries they reset; the
   * VMM's page copies (the first full copy's too).
   */
  ringPushes = 0;
  ringFullExits = 0;
  ringCollections = 0;
  ringPagesCollected = 0;
  ringResets = 0;
  ringEntriesReset = 0;
  dirtyPagesCopied = 0;
  /** Reclaim's aging (host.invalidations[].age): folio_referenced calls, and those that found the page young (kept) or old (reclaimed). */
  aged = 0;
  agedYoung = 0;
  agedOld = 0;
  /** Without EPT A/D bits: leaves aging marked for access tracking, its marks whose cmpxchg failed (left as they were), and access-tracked leaves fast_page_fault restored. */
  accessTrackMarked = 0;
  accessTrackMarkFailed = 0;
  accessTrackRestored = 0;
  invalidationsStarted = 0;
  invalidationsCompleted = 0;
  /** Time from invalidate_range_start to _end, per invalidation. */
  readonly invalidationDuration = new Distribution();
  private readonly invalidationSince = new Map<number, number>();
  /** Threads inside an invalidate_range_start: the SPTEs they zap are the notifier's. */
  private readonly inRangeStart = new Set<number>();
  /** SPTEs zapped by mmu_notifier invalidations (not by memslot flushes, zap-all or root zaps). */
  notifierSptesZapped = 0;
  sptesInstalled = 0;
  /** SPTEs zapped by anyone: notifiers, memslot flushes, zap-all, root zaps. */
  sptesZapped = 0;
  apicReloads = 0;
  apicReRequests = 0;
  /** Per vCPU, from its first re-request to the reload that set the page or found no slot (the retry flow's loop), summed. */
  apicStalledNs = 0;
  /** Those stalls (one a vCPU and loop), and the longest: what bounds a vCPU's wait (thread 004). */
  apicStalls = 0;
  apicStallMaxNs = 0;
  private readonly apicStallTracker = new ApicStallTracker((s) => this.stalled(s.end - s.start));
  /** Per vCPU, from a KVM_REQ_APIC_PAGE_RELOAD made to it (the first while one is pending) to its next VM-entry, summed: either flow. */
  apicRequestToEntryNs = 0;
  private readonly apicRequestSince = new Map<number, number>();
  guestAccesses = 0;
  entries = 0;
  entriesCancelled = 0;
  lockBreaks = 0;
  rootsAllocated = 0;
  rootsFreed = 0;
  rootReloads = 0;
  /** Reloads of a root the vCPU had dropped when servicing a root-zap request (shadow paging and TDP). */
  rootReloadsAfterZap = 0;
  /**
   * Roots zapped while some vCPU held them: under shadow paging a zap of a page
   * that was a vCPU's current or previous root (kvm_mmu_prepare_zap_page with
   * root_count > 0, which only marks it invalid); under TDP a root
   * kvm_tdp_mmu_invalidate_all_roots marked invalid while a vCPU held a reference.
   */
  rootsZappedInUse = 0;
  /** (vCPU, pgd) pairs that had a root loaded; TDP roots have no pgd and key by vCPU alone. */
  private readonly loadedOnce = new Set<number>();
  shadowPagesCreated = 0;
  shadowPagesZapped = 0;
  shadowPagesLive = 0;
  shadowPagesPeak = 0;
  /** Shadow pages zapped to make room (kvm_mmu_zap_oldest_mmu_pages): the kernel's mmu_recycled stat. */
  mmuRecycled = 0;
  zapAllStarted = 0;
  zapAllCompleted = 0;
  zapAllMaxDurationNs = 0;
  /** kvm_mmu_zap_all_fast's toggles of mmu_valid_gen (threads 000, 002). */
  validGenToggles = 0;
  memslotChanges = 0;
  memslotChangesStarted = 0;
  /** Extra counters a model part adds without a field here. */
  readonly extra = new Map<string, number>();
  readonly kinds = METRICS_KINDS;

  on(ev: KvmEvent, at: EventStamp): void {
    switch (ev.e) {
      case 'faultBegin':
        // pf_taken: kvm_mmu_do_page_fault, after the MMIO fast path (not counted).
        this.faults++;
        return;
      case 'faultResolved':
        this.faultLatency.record(ev.latencyNs);
        return;
      case 'mmioCheck':
        // The MMIO fast path emulated the access (no fault, no pf_taken): done, as
        // the vCPU's access count has it; a mismatch goes on to a fault, counted there.
        if (ev.match) {
          this.mmioFastPath++;
          this.guestAccesses++;
        }
        return;
      case 'faultEnd':
        this.faultsEnded++;
        switch (ev.ret) {
          case 'retry-precheck':
            this.retries++;
            this.retriesBeforeLock++;
            return;
          case 'retry-stale':
            this.retries++;
            this.retriesUnderLock++;
            return;
          case 'retry-invalid-slot':
            this.retries++;
            this.retriesInvalidSlot++;
            return;
          case 'spurious':
            // RET_PF_SPURIOUS (pf_spurious).
            this.spurious++;
            this.faultLatency.record(ev.latencyNs);
            return;
          case 'emulate':
            // RET_PF_EMULATE (pf_emulate): a write to a write-protected guest table, or
            // MMIO (no memslot; an MMIO SPTE installed or not). The access is done, as
            // the vCPU's access count has it, and stop.accesses with it; its fault is
            // resolved, however many retries came before (a memslot delete's stall).
            this.emulated++;
            this.guestAccesses++;
            this.faultLatency.record(ev.latencyNs);
            return;
          case 'fixed':
            // RET_PF_FIXED (pf_fixed).
            this.fixed++;
            this.faultLatency.record(ev.latencyNs);
            return;
          case 'inject-pf':
            // The guest's own fault (its PTE is clear): KVM resolves nothing.
            this.injectedPf++;
            return;
          case 'retry-gpte-changed':
            // A guest PTE changed since the walk (neither a pre-check nor a stale
            // check; the next fault's walk sees the change).
            this.retries++;
            this.retriesGpteChanged++;
            return;
        }
        return;
      case 'remoteFlushBegin':
        this.remoteFlushes++;
        return;
      case 'tlbFlush':
        this.tlbFlushes++;
        return;
      case 'invalidateRangeStart':
        this.invalidationsStarted++;
        this.invalidationSince.set(at.tid, at.ts);
        this.inRangeStart.add(at.tid);
        return;
      case 'invalidateRangeStartDone':
        this.inRangeStart.delete(at.tid);
        return;
      case 'invalidateRangeEnd': {
        this.invalidationsCompleted++;
        const since = this.invalidationSince.get(at.tid);
        if (since !== undefined) this.invalidationDuration.record(at.ts - since);
        return;
      }
      case 'spteSet':
        if (ev.newPfn >= 0) this.sptesInstalled++;
        else {
          this.sptesZapped++;
          if (this.inRangeStart.has(at.tid)) this.notifierSptesZapped++;
        }
        return;
      case 'apicReload':
        if (ev.outcome === 'retry') this.apicReRequests++;
        else if (ev.outcome === 'set') this.apicReloads++;
        this.apicStallTracker.on(ev, at);
        return;
      case 'guestAccess':
        this.guestAccesses++;
        return;
      case 'request':
        if (ev.req === KVM_REQ_APIC_PAGE_RELOAD && !this.apicRequestSince.has(ev.vcpu)) this.apicRequestSince.set(ev.vcpu, at.ts);
        return;
      case 'vmEntry': {
        this.entries++;
        const since = this.apicRequestSince.get(ev.vcpu);
        if (since !== undefined) {
          this.apicRequestToEntryNs += at.ts - since;
          this.apicRequestSince.delete(ev.vcpu);
        }
        return;
      }
      case 'entryCancelled':
        this.entriesCancelled++;
        return;
      case 'lockBreak':
        this.lockBreaks++;
        return;
      case 'rootAlloc': {
        this.rootsAllocated++;
        // The first root a vCPU loads (for a given guest CR3, under shadow paging) is not a reload.
        const k = loadKey(ev.vcpu, ev.pgd);
        if (this.loadedOnce.has(k)) this.rootReloads++;
        else this.loadedOnce.add(k);
        if (ev.afterZap === true) this.rootReloadsAfterZap++;
        return;
      }
      case 'rootFree':
        this.rootsFreed++;
        return;
      case 'rootInvalidate':
        // TDP: kvm_tdp_mmu_invalidate_all_roots marked a root some vCPU still held.
        if (ev.inUse) this.rootsZappedInUse++;
        return;
      case 'spCreate':
        this.shadowPagesCreated++;
        this.shadowPagesLive++;
        if (this.shadowPagesLive > this.shadowPagesPeak) this.shadowPagesPeak = this.shadowPagesLive;
        return;
      case 'spZap':
        this.shadowPagesZapped++;
        if (ev.root) this.rootsZappedInUse++;
        return;
      case 'spFree':
        this.shadowPagesLive--;
        return;
      case 'zapAllBegin':
        this.zapAllStarted++;
        return;
      case 'zapAllEnd':
        this.zapAllCompleted++;
        if (ev.durationNs > this.zapAllMaxDurationNs) this.zapAllMaxDurationNs = ev.durationNs;
        return;
      case 'mmuValidGen':
        this.validGenToggles++;
        return;
      case 'shadowReclaim':
        this.mmuRecycled += ev.zapped;
        return;
      case 'memslotChange':
        if (ev.phase === 'begin') this.memslotChangesStarted++;
        if (ev.phase === 'done') this.memslotChanges++;
        return;
      case 'invlpg':
        this.invlpg++;
        return;
      case 'dirtyLogHarvest':
        if (ev.phase === 'returned') {
          this.dirtyHarvests++;
          this.dirtyPagesHarvested += ev.gfns.length;
        }
        return;
      case 'dirtyLogClear':
        if (ev.phase === 'returned') {
          this.dirtyClears++;
          this.dirtyPagesCleared += ev.gfns.length;
        }
        return;
      case 'dirtyLogWrprot':
        if (ev.wasWritable) this.dirtyLeavesWriteProtected++;
        return;
      case 'markPageDirty':
        if (!ev.already) this.dirtyPagesMarked++;
        if (ev.wpFault) this.dirtyWpFaults++;
        return;
      case 'dirtyRingPush':
        this.ringPushes++;
        if (ev.wpFault) this.dirtyWpFaults++;
        return;
      case 'dirtyRingExit':
        this.ringFullExits++;
        return;
      case 'dirtyRingCollect':
        this.ringCollections++;
        this.ringPagesCollected += ev.gfns.length;
        return;
      case 'dirtyRingReset':
        if (ev.phase === 'returned') {
          this.ringResets++;
          this.ringEntriesReset += ev.entries;
        }
        return;
      case 'dirtyLogCopy':
        this.dirtyPagesCopied++;
        return;
      case 'fastPageFault':
        if (ev.ret !== 'invalid') this.fast++;
        return;
      case 'ageSpteMark':
        if (ev.ok) this.accessTrackMarked++;
        else this.accessTrackMarkFailed++;
        return;
      case 'fastPfCmpxchg':
        if (ev.restore === true && ev.ok) this.accessTrackRestored++;
        return;
      case 'folioReferenced':
        this.aged++;
        if (ev.young) this.agedYoung++;
        else this.agedOld++;
        return;
      default:
        return;
    }
  }

  /** One vCPU's APIC-access reload stall of `ns`, ended (or open at the end of the run). */
  private stalled(ns: number): void {
    this.apicStalledNs += ns;
    this.apicStalls++;
    if (ns > this.apicStallMaxNs) this.apicStallMaxNs = ns;
  }

  /** Open APIC stalls, and reload requests not yet followed by an entry, count up to `now`. */
  closeAt(now: number): void {
    for (const s of this.apicStallTracker.close(now)) this.stalled(s.end - s.start);
    for (const since of this.apicRequestSince.values()) this.apicRequestToEntryNs += now - since;
    this.apicRequestSince.clear();
  }

  /** A root the vCPU loaded before metrics started (a warm start): loading it again is a reload. */
  rootLoadedBefore(vcpu: number, pgd?: number): void {
    this.loadedOnce.add(loadKey(vcpu, pgd));
  }

  /** Faults begun and not ended: in the fault path when the run stopped. */
  get faultsInFlight(): number {
    return this.faults - this.faultsEnded;
  }

  bump(name: string, by = 1): void {
    this.extra.set(name, (this.extra.get(name) ?? 0) + by);
  }
}
