import type { EventStamp, KvmEvent, Sink } from '../kvm/events.js';

/** One mmu_notifier invalidation as seen from KVM, invalidate_range_start to _end. */
export interface Invalidation {
  /** Dense id, in order of start. */
  id: number;
  /** Thread that ran it. */
  tid: number;
  /** What the host was doing ('numa', 'reclaim', 'migrate', ...). */
  kind: string;
  /** Host range [hvaStart, hvaEnd), pages. */
  hvaStart: number;
  hvaEnd: number;
  /** invalidate_range_start called, ns. */
  start: number;
  /** kvm_mmu_invalidate_begin (mmu_invalidate_in_progress++), ns; -1 if it touched no memslot. */
  begin: number;
  /** Hull of the in-progress ranges after its range_add, gfns; -1 if none. */
  gfnStart: number;
  gfnEnd: number;
  /** kvm_mmu_invalidate_end (seq bump), ns; -1 until then. */
  endSeqTs: number;
  /** mmu_invalidate_seq after its end, -1 until then. */
  seq: number;
  /** invalidate_range_end returned, ns; -1 while still open. */
  end: number;
}

/** Why a fault retried, traced back to an invalidation. */
export interface RetryCause {
  /** The invalidation. */
  inv: Invalidation;
  /**
   * 'in-progress': it covered the gfn when checked; 'range': it has ended, but
   * widened mmu_invalidate_range_start/end over the gfn, which stays so while
   * another invalidation is in progress; 'seq': it ended after the fault's snapshot.
   */
  why: 'in-progress' | 'range' | 'seq';
  /** The point on the invalidator's track the cause lies at: its begin or its seq bump, ns. */
  at: number;
}

/** A fault that retried, with its cause when one was found. */
export interface RetriedFault {
  /** vCPU thread. */
  tid: number;
  /** Fault began / ended (RET_PF_RETRY), ns. */
  start: number;
  end: number;
  gfn: number;
  /** 'retry-precheck' or 'retry-stale'. */
  ret: string;
  cause: RetryCause | null;
}

/**
 * Follows invalidations and the faults they made retry: a retried fault is
 * blamed on the latest in-progress invalidation whose range covers its gfn,
 * else on the one that widened the in-progress range over it (the range is
 * a hull, reset only by the kvm_mmu_invalidate_begin that finds none in
 * progress: one that ended leaves its gfns in it while another is still in
 * progress), else on the invalidation that bumped mmu_invalidate_seq past its
 * snapshot (the two tests of mmu_invalidate_retry_gfn).
 */
export class RetryCauses implements Sink {
  /** Every invalidation, by id. */
  readonly invalidations: Invalidation[] = [];
  /** Every fault that retried for an invalidation (pre-check or under mmu_lock). */
  readonly retried: RetriedFault[] = [];
  /** Every APIC-access reload whose mmu_invalidate_retry_gfn said retry (thread 004): its vCPU, the check's time, its cause. */
  readonly apicRetried: { tid: number; ts: number; cause: RetryCause | null }[] = [];
  private readonly current = new Map<number, Invalidation>();
  private readonly active: Invalidation[] = [];
  /** Invalidations begun since the in-progress range was last reset, which it covers still. */
  private readonly hull: Invalidation[] = [];
  private readonly bySeq = new Map<number, Invalidation>();
  private readonly faults = new Map<number, { start: number; seq: number }>();

  on(ev: KvmEvent, at: EventStamp): void {
    switch (ev.e) {
      case 'invalidateRangeStart': {
        const inv: Invalidation = {
          id: this.invalidations.length,
          tid: at.tid,
          kind: ev.kind,
          hvaStart: ev.hvaStart,
          hvaEnd: ev.hvaEnd,
          start: at.ts,
          begin: -1,
          gfnStart: -1,
          gfnEnd: -1,
          endSeqTs: -1,
          seq: -1,
          end: -1,
        };
        this.invalidations.push(inv);
        this.current.set(at.tid, inv);
        return;
      }
      case 'invalidateBegin': {
        const inv = this.current.get(at.tid);
        if (inv === undefined) return;
        inv.begin = at.ts;
        this.active.push(inv);
        if (ev.inProgress === 1) this.hull.length = 0;
        this.hull.push(inv);
        return;
      }
      case 'invalidateRangeAdd': {
        const inv = this.current.get(at.tid);
        if (inv === undefined) return;
        inv.gfnStart = ev.start;
        inv.gfnEnd = ev.end;
        return;
      }
      case 'invalidateEnd': {
        const inv = this.current.get(at.tid);
        if (inv === undefined) return;
        inv.endSeqTs = at.ts;
        inv.seq = ev.seq;
        this.bySeq.set(ev.seq, inv);
        const i = this.active.indexOf(inv);
        if (i >= 0) this.active.splice(i, 1);
        return;
      }
      case 'invalidateRangeEnd': {
        const inv = this.current.get(at.tid);
        if (inv === undefined) return;
        inv.end = at.ts;
        this.current.delete(at.tid);
        return;
      }
      case 'faultBegin':
        this.faults.set(at.tid, { start: at.ts, seq: -1 });
        return;
      case 'apicRetryCheck':
        // The same two tests as a fault's under mmu_lock, on the APIC-access page's gfn.
        if (ev.retry) this.apicRetried.push({ tid: at.tid, ts: at.ts, cause: this.cause(ev.gfn, ev.snapshot) });
        return;
      case 'seqSnapshot': {
        const f = this.faults.get(at.tid);
        if (f !== undefined) f.seq = ev.seq;
        return;
      }
      case 'faultEnd': {
        const f = this.faults.get(at.tid);
        this.faults.delete(at.tid);
        if (f === undefined || (ev.ret !== 'retry-precheck' && ev.ret !== 'retry-stale')) return;
        this.retried.push({ tid: at.tid, start: f.start, end: at.ts, gfn: ev.gfn, ret: ev.ret, cause: this.cause(ev.gfn, f.seq) });
        return;
      }
      default:
        return;
    }
  }

  private cause(gfn: number, snapshot: number): RetryCause | null {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const inv = this.active[i]!;
      if (gfn >= inv.gfnStart && gfn < inv.gfnEnd) return { inv, why: 'in-progress', at: inv.begin };
    }
    if (this.active.length > 0) {
      // Each one's range is the hull after its range_add: the first to cover the gfn brought it in.
      for (const inv of this.hull) if (gfn >= inv.gfnStart && gfn < inv.gfnEnd) return { inv, why: 'range', at: inv.begin };
    }
    if (snapshot >= 0) {
      // The first invalidation to end after the snapshot is the one that changed the seq.
      const inv = this.bySeq.get(snapshot + 1);
      if (inv !== undefined) return { inv, why: 'seq', at: inv.endSeqTs };
    }
    return null;
  }
}
