import type { EventStamp, KvmEvent } from '../kvm/events.js';
import { KVM_REQ_APIC_PAGE_RELOAD } from '../kvm/requests.js';

/**
 * Which events the printed interleaving says on the line of the event before
 * theirs, rather than on one of their own: the APIC-access reload's retry,
 * whose one kvm_make_request the model emits as two events (the request, which
 * the metrics read for request-to-entry, then the reload's outcome), and the
 * story would print as two lines ("make request KVM_REQ_APIC_PAGE_RELOAD to
 * vCPU0", then "invalidation in progress: re-request ..."), the explanation
 * after the fact. The step log (step-log.ts) joins them, and the exports of a
 * checker's replay (report/step-clock.ts) number the joined event as the line
 * it is on, so that line n is still event n of the exports.
 *
 * Feed it every event, in order (one per interleaving: it keeps the last).
 */
export class LineJoin {
  /** The last event's thread and runtime step (-1: none yet). */
  private tid = -1;
  private step = -1;
  /** The vCPU the last event made KVM_REQ_APIC_PAGE_RELOAD on, or -1 if it made none. */
  private reloadRequested = -1;

  /** Whether `ev` goes on the line of the event before it; notes `ev` for the next. */
  joins(ev: KvmEvent, at: EventStamp): boolean {
    // The same thread in the same step (atomic: nothing came between), the reload re-requested on that vCPU.
    const joined = ev.e === 'apicReload' && ev.outcome === 'retry' && ev.vcpu === this.reloadRequested && at.tid === this.tid && at.step === this.step;
    this.tid = at.tid;
    this.step = at.step;
    this.reloadRequested = ev.e === 'request' && ev.req === KVM_REQ_APIC_PAGE_RELOAD ? ev.vcpu : -1;
    return joined;
  }
}

/** The line of a re-request joined to its kvm_make_request (`vcpu`: the vCPU, itself). */
export function reRequestText(vcpu: number): string {
  return `invalidation in progress: re-request KVM_REQ_APIC_PAGE_RELOAD (make request to vCPU${vcpu}, itself)`;
}
