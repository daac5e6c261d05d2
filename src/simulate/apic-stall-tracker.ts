import type { EventStamp, KvmEvent } from '../kvm/events.js';

/**
 * One vCPU's APIC-access reload stall (thread 004): from its first
 * re-request of KVM_REQ_APIC_PAGE_RELOAD (mmu_invalidate_retry_gfn said an
 * invalidation covering the page is in progress or completed since the
 * snapshot) to the pass that wrote APIC_ACCESS_ADDR, or found the slot gone.
 * In between the vCPU goes round vcpu_enter_guest, the pending request
 * cancelling each entry at the late check: a busy loop, not a sleep.
 */
export interface ApicStall {
  /** The vCPU's thread id: the track it is drawn on. */
  tid: number;
  vcpu: number;
  /** The first re-request, virtual ns (in a checker's replay, its step's time). */
  start: number;
  /** The reload that ended it; the end of the recording when `unfinished`. */
  end: number;
  /** Passes that re-requested. */
  passes: number;
  /** The pfn written at the end ('set'), or none ('no-slot', or unfinished). */
  pfn: number;
  unfinished: boolean;
}

/**
 * Where the stalls begin and end, from the apicReload events: the one reading
 * of them that the run's figures (metrics.apic.stalls, stalledNs, stallMaxNs)
 * and the drawings (the report's timeline, the Perfetto slices) share, so
 * that the slices add up to the figures. Each stall that ends is handed to
 * `ended`; those still going are `open`.
 */
export class ApicStallTracker {
  /** Stalls going on, by thread id. */
  private readonly going = new Map<number, ApicStall>();

  constructor(private readonly ended: (stall: ApicStall) => void) {}

  on(ev: KvmEvent, at: EventStamp): void {
    if (ev.e !== 'apicReload') return;
    const o = this.going.get(at.tid);
    if (ev.outcome === 'retry') {
      if (o !== undefined) o.passes++;
      else this.going.set(at.tid, { tid: at.tid, vcpu: ev.vcpu, start: at.ts, end: at.ts, passes: 1, pfn: -1, unfinished: false });
      return;
    }
    if (o === undefined) return;
    this.going.delete(at.tid);
    o.end = at.ts;
    o.pfn = ev.pfn;
    this.ended(o);
  }

  /** The stalls going on, as they would be ended at `end` (not ended: the recording stops there). */
  open(end: number): ApicStall[] {
    return [...this.going.values()].map((o) => ({ ...o, end: Math.max(o.start, end), unfinished: true }));
  }

  /** Ends the stalls going on at `end` (the end of the run), unfinished, and returns them. */
  close(end: number): ApicStall[] {
    const open = this.open(end);
    this.going.clear();
    return open;
  }
}
