import { describeEvent, type EventStamp, type KvmEvent } from '../kvm/events.js';
import { withoutOwnKind } from '../oracle/step-log.js';
import type { KvmInstance } from '../scenario/instantiate.js';
import { percentileRank } from '../simulate/distribution.js';
import { type ApicStall, ApicStallRecorder } from './apic-stalls.js';
import { type InstanceSink, type LockIntervals, lockIntervals, recordLockIntervals, threadNames } from './attach.js';
import { clipLockIntervals, DEFAULT_MAX_EVENTS, EventBudget, recordingCut } from './budget.js';
import { LockBreakRecorder, type LockBreakSeries } from './lock-breaks.js';
import { type Span, type SpanKind, SpanRecorder } from './spans.js';

/** What a thread is doing in a bin of the timeline, one character each. */
export const LANE_STATES = {
  '.': 'idle / other',
  g: 'guest mode',
  f: 'page fault',
  a: 'APIC-access reload stall',
  w: 'waiting for mmu_lock',
  r: 'mmu_lock held (read)',
  W: 'mmu_lock held (write)',
  x: 'remote TLB flush',
  n: 'invalidate_range_start',
  z: 'zap',
  m: 'memslot update',
} as const;
export type LaneState = keyof typeof LANE_STATES;

/** Percentiles at which the latency quantile curve is sampled. */
export const QUANTILE_POINTS = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100] as const;

/** A run's measurements over time and as distributions, for the HTML report. */
export interface RunSeries {
  /** Virtual time covered, ns. */
  endNs: number;
  /** Width of one bin, ns. */
  binNs: number;
  /** Number of bins. */
  bins: number;
  /** Time-average number of threads holding mmu_lock for write / for read / waiting for it, per bin. */
  lock: { write: number[]; read: number[]; waiting: number[] };
  /** Guest accesses, faults begun and faults retried, per bin. */
  activity: { accesses: number[]; faults: number[]; retries: number[] };
  /** Fault latency histogram (resolved faults): bucket lower edges, ns, and counts. */
  latency: { edgesNs: number[]; counts: number[] };
  /** Fault latency at QUANTILE_POINTS, ns (empty when no fault was resolved). */
  quantiles: number[];
  /** Per thread, its dominant state in each bin, one LaneState character per bin. */
  lanes: { tid: number; name: string; states: string }[];
  /** The last events before the end of the run, in kernel terms (what led to a violation). */
  tail: { step: number; thread: string; timeNs: number; text: string }[];
  /** Where recording stopped because the run exceeded the event budget, ns; null when it covers the run. */
  truncatedAtNs: number | null;
  /** The zap-alls' lock breaks: their work left over time, who took mmu_lock in them (threads 000, 002). */
  lockBreaks: LockBreakSeries;
}

/** Classes of time on a lane, innermost span wins. */
const KIND_STATE: Record<SpanKind, LaneState> = {
  memslot: 'm',
  'zap-all': 'z',
  notifier: 'n',
  fault: 'f',
  guest: 'g',
  'lock-wait': 'w',
  'lock-hold': 'r',
  'remote-flush': 'x',
  'zap-batch': 'z',
};
const STATES = Object.keys(LANE_STATES) as LaneState[];

/** Latency buckets: four per octave from 64 ns. */
const LAT_MIN_LOG2 = 6;
const LAT_PER_OCTAVE = 4;
const LAT_BUCKETS = 26 * LAT_PER_OCTAVE;

/** How many events the tail keeps. */
const TAIL = 60;

/** Records what the HTML report draws: lock use, activity, latencies, a timeline, the last events. */
export class SeriesSink implements InstanceSink {
  private readonly spans = new SpanRecorder();
  private readonly stalls = new ApicStallRecorder();
  private readonly breaks = new LockBreakRecorder();
  private inst: KvmInstance | null = null;
  /** Resolved faults' latencies, ns, rounded as Distribution.record rounds them. */
  private readonly latencies: number[] = [];
  /** Event times (ns) of accesses, faults and retries, binned at the end. */
  private readonly accessTs: number[] = [];
  private readonly faultTs: number[] = [];
  private readonly retryTs: number[] = [];
  /** Ring buffer of the last TAIL events, with copies of their stamps (each emit creates a fresh event, so keeping it is safe). */
  private readonly tail: { ev: KvmEvent; ts: number; step: number; tid: number }[] = [];
  private tailNext = 0;

  private readonly budget: EventBudget;

  /** `bins`: resolution of the time series and the timeline; `maxEvents` bounds what is kept. */
  constructor(
    private readonly bins = 400,
    opts: { maxEvents?: number } = {},
  ) {
    this.budget = new EventBudget(opts.maxEvents ?? 2 * DEFAULT_MAX_EVENTS);
  }

  attach(inst: KvmInstance): void {
    this.inst = inst;
    recordLockIntervals(inst);
  }

  on(ev: KvmEvent, at: EventStamp): void {
    if (!this.budget.take(at)) return;
    this.spans.on(ev, at);
    this.stalls.on(ev, at);
    this.breaks.on(ev, at);
    switch (ev.e) {
      case 'guestAccess':
        this.accessTs.push(at.ts);
        break;
      case 'faultBegin':
        this.faultTs.push(at.ts);
        break;
      case 'faultEnd':
        if (ev.ret === 'fixed' || ev.ret === 'spurious') this.latencies.push(Math.round(ev.latencyNs));
        else if (ev.ret.startsWith('retry')) this.retryTs.push(at.ts);
        // An emulated access is done without a guestAccess: metrics.guest.accesses counts it here.
        else if (ev.ret === 'emulate') this.accessTs.push(at.ts);
        break;
      case 'faultResolved':
        this.latencies.push(Math.round(ev.latencyNs));
        break;
      default:
        break;
    }
    // guestAccess lines would crowd out what led to a violation.
    if (ev.e !== 'guestAccess') {
      const kept = { ev, ts: at.ts, step: at.step, tid: at.tid };
      if (this.tail.length < TAIL) this.tail.push(kept);
      else this.tail[this.tailNext] = kept;
      this.tailNext = (this.tailNext + 1) % TAIL;
    }
  }

  /** The series; `endNs` defaults to the instance's clock or the last event. */
  finish(endNs?: number): RunSeries {
    const cut = this.budget.truncatedAt;
    const stop = recordingCut(cut, Math.max(endNs ?? 0, this.inst?.rt.endNs ?? 0), this.spans.lastTs);
    const end = Math.max(1, stop ?? Math.max(endNs ?? 0, this.inst?.rt.endNs ?? 0, this.spans.lastTs));
    const bins = this.bins;
    const binNs = end / bins;
    const all = this.inst ? lockIntervals(this.inst) : null;
    const lock = all !== null && stop !== null ? clipLockIntervals(all, stop) : all;
    const spans = this.spans.finish(end, lock, stop);
    const names = this.inst ? threadNames(this.inst) : [];
    const count = (ts: number[]) => {
      const out = new Array<number>(bins).fill(0);
      for (const t of ts) out[Math.min(bins - 1, Math.max(0, Math.floor(t / binNs)))]!++;
      return out;
    };
    const ring = this.tail.length < TAIL ? this.tail : [...this.tail.slice(this.tailNext), ...this.tail.slice(0, this.tailNext)];
    const ordered = stop === null ? ring : ring.filter((x) => x.ts <= stop);
    const sorted = this.latencies.slice().sort((a, b) => a - b);
    return {
      endNs: end,
      binNs,
      bins,
      lock: lockSeries(lock, bins, binNs),
      activity: { accesses: count(this.accessTs), faults: count(this.faultTs), retries: count(this.retryTs) },
      latency: histogram(sorted),
      quantiles: sorted.length === 0 ? [] : QUANTILE_POINTS.map((p) => sorted[Math.min(sorted.length, percentileRank(p, sorted.length)) - 1]!),
      lanes: lanes(spans, this.stalls.finish(end, stop), names, bins, binNs),
      tail: ordered.map(({ ev, ts, step, tid }) => {
        const thread = names[tid] ?? (tid < 0 ? 'host' : `thread ${tid}`);
        // As the counterexample's story says it: not 'migrate: ...' again on a thread named apic-migrate.
        return { step, thread, timeNs: ts, text: withoutOwnKind(describeEvent(ev), thread) };
      }),
      truncatedAtNs: cut,
      lockBreaks: this.breaks.finish(lock, names),
    };
  }
}

/** Adds the overlap of [s, e) with each bin to `into`, scaled by 1 / binNs. */
function spread(into: number[], s: number, e: number, binNs: number): void {
  const bins = into.length;
  if (e <= s) return;
  let b = Math.max(0, Math.floor(s / binNs));
  while (b < bins) {
    const lo = b * binNs;
    const hi = lo + binNs;
    if (lo >= e) break;
    const ov = Math.min(e, hi) - Math.max(s, lo);
    if (ov > 0) into[b]! += ov / binNs;
    b++;
  }
}

function lockSeries(lock: LockIntervals | null, bins: number, binNs: number): RunSeries['lock'] {
  const write = new Array<number>(bins).fill(0);
  const read = new Array<number>(bins).fill(0);
  const waiting = new Array<number>(bins).fill(0);
  if (lock !== null) {
    const h = lock.holds;
    for (let i = 0; i < h.length; i += 4) spread(h[i + 2] === 1 ? write : read, h[i]!, h[i + 1]!, binNs);
    const w = lock.waits;
    for (let i = 0; i < w.length; i += 4) spread(waiting, w[i]!, w[i + 1]!, binNs);
    // Holds and waits still going at the end count to it.
    const o = lock.open;
    for (let i = 0; i < o.length; i += 3) spread(o[i + 1] === 1 ? write : read, o[i]!, bins * binNs, binNs);
    const q = lock.waiting;
    for (let i = 0; i < q.length; i += 3) spread(waiting, q[i]!, bins * binNs, binNs);
  }
  const round = (a: number[]) => a.map((v) => Math.round(v * 1000) / 1000);
  return { write: round(write), read: round(read), waiting: round(waiting) };
}

function histogram(sorted: number[]): RunSeries['latency'] {
  const counts = new Array<number>(LAT_BUCKETS).fill(0);
  for (const v of sorted) {
    const i = Math.floor((Math.log2(v) - LAT_MIN_LOG2) * LAT_PER_OCTAVE);
    counts[Math.min(LAT_BUCKETS - 1, Math.max(0, i))]!++;
  }
  // Trim empty buckets at both ends, keeping one of margin.
  let lo = counts.findIndex((c) => c > 0);
  if (lo < 0) return { edgesNs: [], counts: [] };
  let hi = LAT_BUCKETS - 1;
  while (hi > lo && counts[hi] === 0) hi--;
  lo = Math.max(0, lo - 1);
  hi = Math.min(LAT_BUCKETS - 1, hi + 1);
  const edgesNs: number[] = [];
  for (let i = lo; i <= hi; i++) edgesNs.push(Math.round(2 ** (LAT_MIN_LOG2 + i / LAT_PER_OCTAVE)));
  return { edgesNs, counts: counts.slice(lo, hi + 1) };
}

/**
 * Each thread's dominant state per bin: spans are flattened so that time in a
 * nested span (a lock wait inside a fault) counts for the innermost one only.
 * An APIC-access reload stall counts whole, its checks' mmu_lock holds too:
 * they are the stall's passes (it starts and ends inside them: no span nests it).
 */
function lanes(spans: Span[], stalls: ApicStall[], names: string[], bins: number, binNs: number): RunSeries['lanes'] {
  const byTid = new Map<number, Span[]>();
  for (const s of spans) {
    const l = byTid.get(s.tid) ?? [];
    byTid.set(s.tid, l);
    l.push(s);
  }
  const tids = new Set<number>(names.map((_, i) => i));
  for (const t of byTid.keys()) tids.add(t);
  const K = STATES.length;
  const out: RunSeries['lanes'] = [];
  for (const tid of [...tids].sort((a, b) => a - b)) {
    const acc = new Float64Array(bins * K);
    const add = (s: number, e: number, st: LaneState) => {
      if (e <= s) return;
      const k = STATES.indexOf(st);
      let b = Math.max(0, Math.floor(s / binNs));
      while (b < bins && b * binNs < e) {
        const ov = Math.min(e, (b + 1) * binNs) - Math.max(s, b * binNs);
        if (ov > 0) acc[b * K + k]! += ov;
        b++;
      }
    };
    const stack: { end: number; st: LaneState }[] = [];
    let cursor = 0;
    const stateOf = (s: Span): LaneState => (s.kind === 'lock-hold' ? (s.args.mode === 'write' ? 'W' : 'r') : KIND_STATE[s.kind]);
    for (const s of byTid.get(tid) ?? []) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.start) {
        const top = stack.pop()!;
        add(cursor, top.end, top.st);
        cursor = Math.max(cursor, top.end);
      }
      if (stack.length > 0) add(cursor, s.start, stack[stack.length - 1]!.st);
      cursor = Math.max(cursor, s.start);
      stack.push({ end: s.end, st: stateOf(s) });
    }
    while (stack.length > 0) {
      const top = stack.pop()!;
      add(cursor, top.end, top.st);
      cursor = Math.max(cursor, top.end);
    }
    for (const st of stalls) if (st.tid === tid) add(st.start, st.end, 'a');
    let states = '';
    for (let b = 0; b < bins; b++) {
      let best = 0;
      let bestK = 0;
      for (let k = 1; k < K; k++) {
        if (acc[b * K + k]! > best) {
          best = acc[b * K + k]!;
          bestK = k;
        }
      }
      states += best >= binNs * 0.02 ? STATES[bestK] : '.';
    }
    out.push({ tid, name: names[tid] ?? (tid < 0 ? 'host' : `thread ${tid}`), states });
  }
  return out;
}
