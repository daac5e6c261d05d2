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
 * Records the stalls from apicReload events. Their durations add up to the
 * run's apic.stalledNs (simulate/metrics.ts): the same two events bound each,
 * but for a stall the slot's going ended, which that figure counts on to the
 * vCPU's next reload.
 */
export class ApicStallRecorder {
  private readonly done: ApicStall[] = [];
  /** Open stalls by thread id. */
  private readonly open = new Map<number, ApicStall>();

  on(ev: KvmEvent, at: EventStamp): void {
    if (ev.e !== 'apicReload') return;
    const o = this.open.get(at.tid);
    if (ev.outcome === 'retry') {
      if (o !== undefined) o.passes++;
      else this.open.set(at.tid, { tid: at.tid, vcpu: ev.vcpu, start: at.ts, end: at.ts, passes: 1, pfn: -1, unfinished: false });
      return;
    }
    if (o === undefined) return;
    this.open.delete(at.tid);
    o.end = at.ts;
    o.pfn = ev.pfn;
    this.done.push(o);
  }

  /** The stalls by start, those still open ended at `end`, unfinished; with `cut`, nothing past it. */
  finish(end: number, cut: number | null = null): ApicStall[] {
    const out = [...this.done, ...[...this.open.values()].map((o) => ({ ...o, end: Math.max(o.start, end), unfinished: true }))];
    const kept: ApicStall[] = [];
    for (const s of out) {
      if (cut !== null && s.start > cut) continue;
      kept.push(cut !== null && s.end > cut ? { ...s, end: cut, unfinished: true } : s);
    }
    return kept.sort((a, b) => a.start - b.start || a.tid - b.tid);
  }
}
