import type { EventStamp, KvmEvent, Sink } from '../kvm/events.js';
import { KVM_REQ_APIC_PAGE_RELOAD } from '../kvm/requests.js';
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
  'spCreate',
  'spZap',
  'spFree',
  'zapAllBegin',
  'zapAllEnd',
  'shadowReclaim',
  'memslotChange',
];

/** Counts what a kernel developer asks about a run, from the model's events. */
export class Metrics implements Sink {
  faults = 0;
  retries = 0;
  retriesBeforeLock = 0;
  retriesUnderLock = 0;
  retriesInvalidSlot = 0;
  spurious = 0;
  emulated = 0;
  /** First exit of an access to its resolution, per resolved fault (fixed or spurious). */
  readonly faultLatency = new Distribution();
  remoteFlushes = 0;
  tlbFlushes = 0;
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
  /** Per vCPU, from its first re-request to the reload that set the page (the retry flow's loop), summed. */
  apicStalledNs = 0;
  private readonly apicStallSince = new Map<number, number>();
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
  /** Reloads of a root the vCPU had dropped when servicing a root-zap request. */
  rootReloadsAfterZap = 0;
  /** Zaps of a page that was some vCPU's current or previous root. */
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
  memslotChanges = 0;
  /** Extra counters a model part adds without a field here. */
  readonly extra = new Map<string, number>();
  readonly kinds = METRICS_KINDS;

  on(ev: KvmEvent, at: EventStamp): void {
    switch (ev.e) {
      case 'faultBegin':
        this.faults++;
        return;
      case 'faultResolved':
        this.faultLatency.record(ev.latencyNs);
        return;
      case 'mmioCheck':
        // The MMIO fast path emulated the access (no fault): done, as the vCPU's
        // access count has it; a mismatch goes on to a fault, counted there.
        if (ev.match) {
          this.emulated++;
          this.guestAccesses++;
        }
        return;
      case 'faultEnd':
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
            this.spurious++;
            this.faultLatency.record(ev.latencyNs);
            return;
          case 'emulate':
            // KVM emulated the access (a write to a write-protected guest table):
            // done, as the vCPU's access count has it, and stop.accesses with it.
            this.emulated++;
            this.guestAccesses++;
            return;
          case 'fixed':
            this.faultLatency.record(ev.latencyNs);
            return;
          case 'inject-pf':
            // The guest's own fault (its PTE is clear): KVM resolves nothing.
            return;
          case 'retry-gpte-changed':
            // A guest PTE changed since the walk: counted in retries only (neither a
            // pre-check nor a stale check; the next fault's walk sees the change).
            this.retries++;
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
        if (ev.outcome === 'retry') {
          this.apicReRequests++;
          if (!this.apicStallSince.has(ev.vcpu)) this.apicStallSince.set(ev.vcpu, at.ts);
        } else if (ev.outcome === 'set') {
          this.apicReloads++;
          const since = this.apicStallSince.get(ev.vcpu);
          if (since !== undefined) {
            this.apicStalledNs += at.ts - since;
            this.apicStallSince.delete(ev.vcpu);
          }
        }
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
      case 'shadowReclaim':
        this.mmuRecycled += ev.zapped;
        return;
      case 'memslotChange':
        if (ev.phase === 'done') this.memslotChanges++;
        return;
      default:
        return;
    }
  }

  /** Open APIC stalls, and reload requests not yet followed by an entry, count up to `now`. */
  closeAt(now: number): void {
    for (const since of this.apicStallSince.values()) this.apicStalledNs += now - since;
    this.apicStallSince.clear();
    for (const since of this.apicRequestSince.values()) this.apicRequestToEntryNs += now - since;
    this.apicRequestSince.clear();
  }

  /** A root the vCPU loaded before metrics started (a warm start): loading it again is a reload. */
  rootLoadedBefore(vcpu: number, pgd?: number): void {
    this.loadedOnce.add(loadKey(vcpu, pgd));
  }

  bump(name: string, by = 1): void {
    this.extra.set(name, (this.extra.get(name) ?? 0) + by);
  }
}
