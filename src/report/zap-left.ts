import type { EventStamp, KvmEvent } from '../kvm/events.js';

/**
 * A zap-all's work left as points over virtual time (threads 000, 002): its
 * pages at its begin, what is left at each lock break (the lockBreak events'
 * `left`), and at its walk's end what it left unzapped. Only a zap-all that
 * broke mmu_lock has points (its begin is drawn once a break follows): the
 * one reading of these events that the report's chart and the Perfetto
 * counter track share.
 */
export class ZapLeftPoints {
  /** The current zap-all's begin, until its first lock break: [ns, pages], or null. */
  private begin: [number, number] | null = null;
  /** Whether the current zap-all broke the lock (its walk's end is drawn). */
  private broke = false;

  constructor(private readonly point: (ts: number, pages: number) => void) {}

  on(ev: KvmEvent, at: EventStamp): void {
    switch (ev.e) {
      case 'zapAllBegin':
        this.begin = [at.ts, ev.pages];
        this.broke = false;
        return;
      case 'lockBreak':
        // Only the zap-alls' breaks know their work left.
        if (ev.left === undefined) return;
        if (this.begin !== null) this.point(this.begin[0], this.begin[1]);
        this.begin = null;
        this.broke = true;
        this.point(at.ts, ev.left);
        return;
      case 'zapBatch':
        if (ev.left !== undefined && this.broke) this.point(at.ts, ev.left);
        return;
      default:
        return;
    }
  }
}
