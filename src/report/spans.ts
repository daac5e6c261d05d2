import { type EventStamp, hvaText, type KvmEvent, type RetPf, type Sink } from '../kvm/events.js';
import type { LockIntervals } from './attach.js';

/** What a span on a thread's track stands for; nesting goes from the first to the last. */
export type SpanKind =
  /** a memslot change (KVM_SET_USER_MEMORY_REGION), begin to done */
  | 'memslot'
  /** a zap of every shadow page (fast or lock-break), begin to end */
  | 'zap-all'
  /**
   * kvm_mmu_notifier_invalidate_range_start, entry to return; or the end of
   * kvm_mmu_notifier_invalidate_range_end, from its mmu_lock hold (where
   * kvm_mmu_invalidate_end bumps mmu_invalidate_seq) to its return
   */
  | 'notifier'
  /** a page fault, EPT violation to RET_PF_* */
  | 'fault'
  /** the vCPU in guest mode, VM-entry to VM-exit */
  | 'guest'
  /** waiting for mmu_lock (contended acquisition) */
  | 'lock-wait'
  /** holding mmu_lock */
  | 'lock-hold'
  /** kvm_flush_remote_tlbs, requests made to acknowledgements */
  | 'remote-flush'
  /** one batch of a zap, under mmu_lock */
  | 'zap-batch';

/** Outer kinds first, for spans that start and end together. */
const RANK: Record<SpanKind, number> = {
  memslot: 0,
  'zap-all': 1,
  notifier: 2,
  fault: 3,
  guest: 3,
  'lock-wait': 4,
  'lock-hold': 5,
  'remote-flush': 6,
  'zap-batch': 7,
};

export type SpanArgs = Record<string, string | number | boolean>;

/** A closed interval of one thread's activity. */
export interface Span {
  /** Thread id: the track it is drawn on. */
  tid: number;
  /** Start, virtual ns. */
  start: number;
  /** End, virtual ns (>= start). */
  end: number;
  kind: SpanKind;
  /** The slice's name, in kernel terms. */
  name: string;
  /** Details shown with the slice. */
  args: SpanArgs;
  /** Creation order: the last tie-break, so that sorting is deterministic. */
  seq: number;
}

/** Slice names of the fault outcomes: the RET_PF_* value and why. */
export const FAULT_NAMES: Record<RetPf, string> = {
  fixed: 'fault RET_PF_FIXED',
  spurious: 'fault RET_PF_SPURIOUS',
  'retry-precheck': 'fault RET_PF_RETRY (before mmu_lock)',
  'retry-stale': 'fault RET_PF_RETRY (under mmu_lock)',
  'retry-invalid-slot': 'fault RET_PF_RETRY (invalid memslot)',
  emulate: 'fault RET_PF_EMULATE',
  'inject-pf': 'fault RET_PF_RETRY (#PF injected into the guest)',
  'retry-gpte-changed': 'fault RET_PF_RETRY (guest PTE changed since the walk)',
};

const hex = (n: number) => `0x${n.toString(16)}`;

/** Bytes per page (the model's hvas and gfns are page numbers). */

/**
 * A host range of pages [startPage, endPage) as trace args, with its unit in
 * the name: `hva` in bytes, as the kernel's kvm_unmap_hva_range, the ftrace
 * log and the printed interleaving print it, and `hvaPages` in page numbers,
 * as the model keeps it.
 */
export function hvaRangeArgs(startPage: number, endPage: number): { hva: string; hvaPages: string } {
  return { hva: `[${hvaText(startPage)},${hvaText(endPage)})`, hvaPages: `[${hex(startPage)},${hex(endPage)})` };
}

/** A gfn range [start, end) as a trace arg, written as the printed interleaving writes it. */
export function gfnRange(start: number, end: number): string {
  return `[${hex(start)},${hex(end)})`;
}

interface Open {
  start: number;
  name: string;
  args: SpanArgs;
}

/**
 * Turns the model's begin/end event pairs into closed spans per thread, and at
 * the end adds mmu_lock holds and waits and the zap batches. Spans on one
 * thread nest: the model's operations on a thread are properly bracketed.
 */
export class SpanRecorder implements Sink {
  private readonly done: Span[] = [];
  private seq = 0;
  /** Open spans by kind, then thread id. */
  private readonly open = new Map<SpanKind, Map<number, Open>>();
  /** Zap batch events: [ts, tid, pages, whatIndex] and their labels. */
  private readonly batches: number[] = [];
  private readonly batchWhat: string[] = [];
  /** Per thread, the last point a batch can start from (zap begin, previous batch, lock break). */
  private readonly batchMark = new Map<number, number>();
  /** Latest event time seen. */
  lastTs = 0;
  /**
   * Where a zap-all began by its own clock (its end less its durationNs), which
   * may be before its begin tracepoint: kvm_mmu_zap_all_fast traces its begin
   * once it holds mmu_lock, after the acquisition's cost.
   */
  private readonly opStarts = new Map<Span, number>();
  /** Per thread, the kind of the invalidation it is running (invalidate_range_start to _end). */
  private readonly invKind = new Map<number, { kind: string; hvaStart: number; hvaEnd: number }>();
  /** Seq bumps (kvm_mmu_invalidate_end) of invalidate_range_end, and where that returned (-1: not yet). */
  private readonly seqBumps: { tid: number; ts: number; seq: number; end: number; kind: string; hvaStart: number; hvaEnd: number }[] = [];

  on(ev: KvmEvent, at: EventStamp): void {
    if (at.ts > this.lastTs) this.lastTs = at.ts;
    switch (ev.e) {
      case 'vmEntry':
        this.begin('guest', at.tid, at.ts, 'guest mode', { vcpu: ev.vcpu, root: ev.root });
        return;
      case 'vmExit':
        this.end('guest', at.tid, at.ts, { exit: ev.reason });
        return;
      case 'faultBegin':
        this.begin('fault', at.tid, at.ts, 'fault', { vcpu: ev.vcpu, gfn: hex(ev.gfn), write: ev.write });
        return;
      case 'faultEnd': {
        const o = this.take('fault', at.tid);
        if (o === undefined) return;
        this.push(at.tid, o.start, at.ts, 'fault', FAULT_NAMES[ev.ret], { ...o.args, ret: ev.ret, retries: ev.retries, pfn: ev.pfn >= 0 ? hex(ev.pfn) : '-' });
        return;
      }
      case 'invalidateRangeStart':
        this.invKind.set(at.tid, { kind: ev.kind, hvaStart: ev.hvaStart, hvaEnd: ev.hvaEnd });
        this.begin('notifier', at.tid, at.ts, `invalidate_range_start (${ev.kind})`, hvaRangeArgs(ev.hvaStart, ev.hvaEnd));
        return;
      case 'invalidateRangeStartDone':
        this.end('notifier', at.tid, at.ts, {});
        return;
      case 'invalidateEnd': {
        const inv = this.invKind.get(at.tid);
        if (inv !== undefined) this.seqBumps.push({ tid: at.tid, ts: at.ts, seq: ev.seq, end: -1, ...inv });
        return;
      }
      case 'invalidateRangeEnd': {
        this.invKind.delete(at.tid);
        for (let i = this.seqBumps.length - 1; i >= 0; i--) {
          const b = this.seqBumps[i]!;
          if (b.tid !== at.tid) continue;
          if (b.end < 0) b.end = at.ts;
          break;
        }
        return;
      }
      case 'zapAllBegin':
        this.begin('zap-all', at.tid, at.ts, ev.how, { pages: ev.pages });
        this.batchMark.set(at.tid, at.ts);
        return;
      case 'zapAllEnd': {
        const o = this.take('zap-all', at.tid);
        if (o === undefined) return;
        const span = this.push(at.tid, o.start, at.ts, 'zap-all', o.name, { ...o.args, durationNs: ev.durationNs });
        this.opStarts.set(span, at.ts - ev.durationNs);
        return;
      }
      case 'zapBatch':
        // Where the batch began, as it stands now: the zap's begin or the lock break before it.
        this.batches.push(at.ts, at.tid, ev.pages, this.batchWhat.length, this.batchMark.get(at.tid) ?? at.ts);
        this.batchWhat.push(ev.what);
        return;
      case 'lockBreak':
        this.batchMark.set(at.tid, at.ts);
        return;
      case 'memslotChange':
        if (ev.phase === 'begin') this.begin('memslot', at.tid, at.ts, `memslot ${ev.op} slot ${ev.slot}`, { op: ev.op, slot: ev.slot });
        else if (ev.phase === 'done') this.end('memslot', at.tid, at.ts, {});
        return;
      case 'remoteFlushBegin':
        this.begin('remote-flush', at.tid, at.ts, 'kvm_flush_remote_tlbs', { reason: ev.reason });
        return;
      case 'remoteFlushEnd':
        this.end('remote-flush', at.tid, at.ts, { vcpusKicked: ev.vcpusKicked });
        return;
      default:
        return;
    }
  }

  /**
   * The spans, sorted by start (outer first at equal starts), with the spans
   * still open closed at `endNs` and marked unfinished, and the lock's
   * intervals added when given. With `cut`, nothing goes past it (a recording
   * that stopped there): later spans are dropped, longer ones cut short.
   * Spans nest on each track. In virtual time a finished zap-all starts where
   * its durationNs says, so that its slice is as long as its args say and holds
   * the mmu_lock hold it took first. Then a span that begins under an mmu_lock
   * hold of its thread and ends after it, or the reverse, is widened to cover
   * the hold: its tracepoints sit inside the operation, which took the lock
   * (kvm_mmu_zap_all_fast traces its begin under the lock, after the
   * acquisition's cost, and its end after dropping it; one cut short by the
   * end of the run has no duration to go by). `inSteps`: the times are steps
   * of an interleaving, where a duration in virtual ns places nothing.
   */
  finish(endNs: number, lock: LockIntervals | null, cut: number | null = null, opts: { inSteps?: boolean } = {}): Span[] {
    const end = cut ?? Math.max(endNs, this.lastTs);
    for (const [kind, byTid] of [...this.open.entries()].sort((a, b) => RANK[a[0]] - RANK[b[0]])) {
      for (const [tid, o] of [...byTid.entries()].sort((a, b) => a[0] - b[0])) {
        this.push(tid, o.start, end, kind, o.name, { ...o.args, unfinished: true });
      }
      byTid.clear();
    }
    const holdsByTid = new Map<number, number[]>();
    /** Per thread, the waits for mmu_lock: where each ended, and the earliest start among those ending there. */
    const waitsByTid = new Map<number, Map<number, number>>();
    if (lock !== null) {
      const h = lock.holds;
      for (let i = 0; i < h.length; i += 4) {
        const [s, e, mode, tid] = [h[i]!, h[i + 1]!, h[i + 2]!, h[i + 3]!];
        this.push(tid, s, e, 'lock-hold', mode === 1 ? 'mmu_lock (write)' : 'mmu_lock (read)', { mode: mode === 1 ? 'write' : 'read' });
        const list = holdsByTid.get(tid) ?? [];
        holdsByTid.set(tid, list);
        list.push(s, e);
      }
      // Holds still going count too: a wait handed a lock it still holds ends where that hold begins.
      const o = lock.open;
      for (let i = 0; i < o.length; i += 3) {
        const list = holdsByTid.get(o[i + 2]!) ?? [];
        holdsByTid.set(o[i + 2]!, list);
        list.push(o[i]!, Math.max(end, o[i]!));
      }
      for (const list of holdsByTid.values()) sortPairs(list);
      const w = lock.waits;
      for (let i = 0; i < w.length; i += 4) {
        const [s, e0, mode, tid] = [w[i]!, w[i + 1]!, w[i + 2]!, w[i + 3]!];
        // The waiter's hold starts once the hand-over is done, which is when it resumes;
        // clamp so that the wait never overlaps the hold it ends in.
        const next = holdWaitedFor(holdsByTid.get(tid), s);
        const e = next === undefined ? e0 : Math.min(e0, next);
        const m = mode === 1 ? 'write' : 'read';
        this.push(tid, s, Math.max(s, e), 'lock-wait', `wait mmu_lock (${m})`, { mode: m });
        const ws = waitsByTid.get(tid) ?? new Map<number, number>();
        waitsByTid.set(tid, ws);
        const until = Math.max(s, e);
        ws.set(until, Math.min(s, ws.get(until) ?? s));
      }
      // Holds and waits are recorded once over: those still going when the run stopped
      // (a livelocked zap's last hold, a lock taken at once and not yet dropped, the
      // vCPUs queued behind it) end with it, as unfinished as the other open spans.
      for (let i = 0; i < o.length; i += 3) {
        const [s, m, tid] = [o[i]!, o[i + 1] === 1 ? 'write' : 'read', o[i + 2]!];
        this.push(tid, s, Math.max(end, s), 'lock-hold', `mmu_lock (${m})`, { mode: m, unfinished: true });
      }
      const q = lock.waiting;
      for (let i = 0; i < q.length; i += 3) {
        const m = q[i + 1] === 1 ? 'write' : 'read';
        this.push(q[i + 2]!, q[i]!, Math.max(end, q[i]!), 'lock-wait', `wait mmu_lock (${m})`, { mode: m, unfinished: true });
      }
    }
    if (!opts.inSteps) for (const [span, start] of this.opStarts) span.start = Math.min(span.start, start);
    this.addSeqBumps(holdsByTid, waitsByTid, end);
    this.widenOverHolds(holdsByTid);
    this.addBatches(holdsByTid);
    if (cut !== null) this.clip(cut);
    return this.done.sort(compareSpans);
  }

  /**
   * See finish: widens the spans that cross an end of a hold of their thread.
   * A thread's holds do not overlap, so a hold end is inside no other hold and
   * one pass does it; each span finds the holds at its ends by binary search.
   */
  private widenOverHolds(holdsByTid: Map<number, number[]>): void {
    for (const s of this.done) {
      if (s.kind === 'lock-hold' || s.kind === 'lock-wait' || s.kind === 'zap-batch') continue;
      const holds = holdsByTid.get(s.tid);
      if (holds === undefined) continue;
      const a = strictlyInside(holds, s.start);
      if (a >= 0 && s.end > holds[2 * a + 1]!) s.start = holds[2 * a]!;
      const b = strictlyInside(holds, s.end);
      if (b >= 0 && s.start < holds[2 * b]!) s.end = holds[2 * b + 1]!;
    }
  }

  /**
   * invalidate_range_end's seq bump as a named slice, not only an anonymous
   * mmu_lock (write) hold: from the start of the hold it bumped the seq under,
   * or of the wait for that hold (at the bump without a hold), to the
   * callback's return, or to the end of the run, unfinished. Retry arrows for a
   * changed mmu_invalidate_seq start here.
   */
  private addSeqBumps(holdsByTid: Map<number, number[]>, waitsByTid: Map<number, Map<number, number>>, end: number): void {
    for (const b of this.seqBumps) {
      const holds = holdsByTid.get(b.tid);
      const i = holds === undefined ? -1 : holdIndex(holds, b.ts);
      const holdStart = i < 0 ? b.ts : holds![2 * i]!;
      const from = Math.min(holdStart, waitsByTid.get(b.tid)?.get(holdStart) ?? holdStart);
      const holdEnd = i < 0 ? b.ts : holds![2 * i + 1]!;
      const to = Math.max(holdEnd, b.end >= 0 ? b.end : end);
      const args: SpanArgs = { ...hvaRangeArgs(b.hvaStart, b.hvaEnd), seq: b.seq, ...(b.end < 0 ? { unfinished: true } : {}) };
      this.push(b.tid, from, to, 'notifier', `invalidate_range_end (${b.kind})`, args);
    }
  }

  /** Keeps what started by `cut`, ended there at the latest (a truncated recording). */
  private clip(cut: number): void {
    let n = 0;
    for (const s of this.done) {
      if (s.start > cut) continue;
      if (s.end > cut) {
        s.end = cut;
        s.args = { ...s.args, unfinished: true };
      }
      this.done[n++] = s;
    }
    this.done.length = n;
  }

  /** Each zap batch as a span from the last mark on its thread (clipped to its mmu_lock hold) to its event. */
  private addBatches(holdsByTid: Map<number, number[]>): void {
    const b = this.batches;
    const mark = new Map<number, number>();
    for (let i = 0; i < b.length; i += 5) {
      const [ts, tid, pages, what, began] = [b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!];
      const hold = containing(holdsByTid.get(tid), ts);
      const from = Math.max(mark.get(tid) ?? began, began);
      // Outside any recorded hold, a batch cannot be placed without crossing a lock
      // span: it is drawn as a point.
      const start = hold === undefined ? ts : Math.min(ts, Math.max(from, hold));
      this.push(tid, start, ts, 'zap-batch', `${this.batchWhat[what]}: ${pages} page(s)`, { pages });
      mark.set(tid, ts);
    }
  }

  private map(kind: SpanKind): Map<number, Open> {
    const m = this.open.get(kind) ?? new Map<number, Open>();
    this.open.set(kind, m);
    return m;
  }

  private begin(kind: SpanKind, tid: number, ts: number, name: string, args: SpanArgs): void {
    const m = this.map(kind);
    const prev = m.get(tid);
    // A begin without the end of the previous one (a model change): close it here.
    if (prev !== undefined) this.push(tid, prev.start, ts, kind, prev.name, { ...prev.args, unfinished: true });
    m.set(tid, { start: ts, name, args });
  }

  private take(kind: SpanKind, tid: number): Open | undefined {
    const m = this.map(kind);
    const o = m.get(tid);
    m.delete(tid);
    return o;
  }

  private end(kind: SpanKind, tid: number, ts: number, extra: SpanArgs): void {
    const o = this.take(kind, tid);
    if (o !== undefined) this.push(tid, o.start, ts, kind, o.name, { ...o.args, ...extra });
  }

  private push(tid: number, start: number, end: number, kind: SpanKind, name: string, args: SpanArgs): Span {
    const span = { tid, start, end, kind, name, args, seq: this.seq++ };
    this.done.push(span);
    return span;
  }
}

/** By start, then the longer (outer) first, then kind rank, thread, creation. */
export function compareSpans(a: Span, b: Span): number {
  return a.start - b.start || b.end - a.end || RANK[a.kind] - RANK[b.kind] || a.tid - b.tid || a.seq - b.seq;
}

function sortPairs(list: number[]): void {
  const pairs: [number, number][] = [];
  for (let i = 0; i < list.length; i += 2) pairs.push([list[i]!, list[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 0; i < pairs.length; i++) {
    list[2 * i] = pairs[i]![0];
    list[2 * i + 1] = pairs[i]![1];
  }
}

/** Index of the first pair whose start is >= t (binary search over sorted pairs). */
function lowerBound(list: number[], t: number): number {
  let lo = 0;
  let hi = list.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[2 * mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Start of the hold a wait that began at `t` ended in: the first starting at or
 * after `t`, past the holds that had ended by `t` (zero-long ones at `t`, which
 * came before the wait: the hold it waited for ends after the wait does).
 */
function holdWaitedFor(list: number[] | undefined, t: number): number | undefined {
  if (list === undefined) return undefined;
  let i = lowerBound(list, t);
  while (i < list.length / 2 && list[2 * i + 1]! <= t) i++;
  return i < list.length / 2 ? list[2 * i] : undefined;
}

/** Index of the pair with start < t < end, or -1 (sorted pairs that do not overlap). */
function strictlyInside(list: number[], t: number): number {
  const i = lowerBound(list, t) - 1;
  return i >= 0 && list[2 * i + 1]! > t ? i : -1;
}

/** Index of the last hold that contains t (start <= t <= end), or -1. */
function holdIndex(list: number[], t: number): number {
  const i = lowerBound(list, t + 1e-9) - 1;
  return i >= 0 && list[2 * i + 1]! >= t ? i : -1;
}

/** Start of the hold that contains t (start <= t <= end), if any. */
function containing(list: number[] | undefined, t: number): number | undefined {
  if (list === undefined) return undefined;
  const i = holdIndex(list, t);
  return i < 0 ? undefined : list[2 * i];
}
