import type { EventStamp, KvmEvent } from '../kvm/events.js';
import { type ApicStall, ApicStallTracker } from '../simulate/apic-stall-tracker.js';

export type { ApicStall } from '../simulate/apic-stall-tracker.js';

/**
 * Records the stalls (ApicStallTracker) to draw them. Their durations add up
 * to the run's apic.stalledNs: the figures read the same tracker.
 */
export class ApicStallRecorder {
  private readonly done: ApicStall[] = [];
  private readonly tracker = new ApicStallTracker((s) => this.done.push(s));

  on(ev: KvmEvent, at: EventStamp): void {
    this.tracker.on(ev, at);
  }

  /** The stalls by start, those still open ended at `end`, unfinished; with `cut`, nothing past it. */
  finish(end: number, cut: number | null = null): ApicStall[] {
    const kept: ApicStall[] = [];
    for (const s of [...this.done, ...this.tracker.open(end)]) {
      if (cut !== null && s.start > cut) continue;
      kept.push(cut !== null && s.end > cut ? { ...s, end: cut, unfinished: true } : s);
    }
    return kept.sort((a, b) => a.start - b.start || a.tid - b.tid);
  }
}
