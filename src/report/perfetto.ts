import { describeEvent, type EventStamp, type KvmEvent } from '../kvm/events.js';
import type { Settings } from '../kvm/settings.js';
import type { Violation } from '../runtime/instance.js';
import type { KvmInstance } from '../scenario/instantiate.js';
import { ApicStallRecorder } from './apic-stalls.js';
import { type InstanceSink, lockIntervals, recordLockIntervals, threadNames } from './attach.js';
import { clipLockIntervals, EventBudget, recordingCut } from './budget.js';
import { instantArgs } from './instant-args.js';
import { instantName } from './instant-names.js';
import { type RetryCause, RetryCauses } from './retry-cause.js';
import { gfnRange, hvaRangeArgs, type Span, type SpanArgs, SpanRecorder } from './spans.js';
import { NS_PER_STEP, StepClock } from './step-clock.js';
import { ZapLeftPoints } from './zap-left.js';

/**
 * Chrome Trace Event JSON (opens in ui.perfetto.dev and chrome://tracing) of
 * one run: a track per thread with complete slices (guest mode, faults and how
 * they ended, mmu_lock waits and holds, invalidate_range_start, the seq bump of
 * invalidate_range_end, zaps and their
 * batches, remote TLB flushes, memslot changes), instants, counters
 * (mmu_invalidate_seq, mmu_invalidate_in_progress, shadow pages, roots), an
 * async slice per invalidation window and a flow arrow from an invalidation to
 * each fault it made retry. Times are µs (virtual ns / 1000); the output is
 * byte-stable for a given run. In a checker's replay (check, replay) the time
 * is the event of the interleaving as printed, event n at n µs, not the threads'
 * own virtual clocks (StepClock), and every event printed is on its thread's
 * track at its number: a slice's start or end, or an instant.
 */
export class PerfettoSink implements InstanceSink {
  private readonly spans = new SpanRecorder();
  private readonly stalls = new ApicStallRecorder();
  private readonly causes = new RetryCauses();
  private inst: KvmInstance | null = null;
  /** Counter samples: ts, counter index, value. */
  private readonly counters: number[] = [];
  private readonly lastCounter: number[] = [];
  private readonly instants: { ts: number; tid: number; name: string; args: SpanArgs }[] = [];
  /** Roots and shadow pages counted from events, when no instance gives gauges. */
  private readonly liveRoots = new Set<number>();
  private liveSp = 0;
  /** A zap-all's work left, as the report's chart has it: the counter track's samples. */
  private readonly zapLeft = new ZapLeftPoints((ts, pages) => this.setCounter(ts, C_ZAP_LEFT, pages));

  private readonly budget: EventBudget;
  private readonly clock = new StepClock();

  /** `title` names the process track (e.g. the scenario); `maxEvents` bounds what is kept (DEFAULT_MAX_EVENTS). */
  constructor(
    private readonly title = 'mmulab',
    opts: { maxEvents?: number } = {},
  ) {
    this.budget = new EventBudget(opts.maxEvents);
    for (let i = 0; i < COUNTERS.length; i++) this.lastCounter.push(Number.NaN);
  }

  attach(inst: KvmInstance): void {
    this.inst = inst;
    recordLockIntervals(inst);
    this.clock.attach(inst, { watchLock: true });
    this.setCounter(0, C_SEQ, inst.kvm.mmuInvalidateSeq);
    this.setCounter(0, C_IN_PROGRESS, inst.kvm.mmuInvalidateInProgress);
    this.sampleGauges(0);
  }

  on(ev: KvmEvent, stamp: EventStamp): void {
    const at = this.clock.stamp(ev, stamp);
    if (at === null || !this.budget.take(at)) return;
    this.spans.on(ev, at);
    this.stalls.on(ev, at);
    this.causes.on(ev, at);
    if (this.clock.active === true) {
      // A checker's replay: every event of the printed interleaving stands on its thread's track at its
      // number, so that the race reads there as printed (the request made and serviced, the seq snapshot,
      // get_user_pages, the host PTE change had no record); a slice's start or end stands for its event.
      if (!edgeOfSlice(ev)) this.instant(ev, at);
      this.count(ev, at);
      return;
    }
    if (this.count(ev, at)) return;
    switch (ev.e) {
      case 'rootFree':
      case 'entryCancelled':
      case 'lockBreak':
      case 'rootInvalidate':
      case 'mmuValidGen':
      case 'gfnWriteProtected':
      case 'mmioSpteSet':
      case 'mmioSpteZap':
      case 'mmioGenWrap':
      case 'mmioCheck':
      case 'invlpgSyncSpte':
      case 'apicRetryCheck':
      case 'trackWrite':
      case 'zapResumed':
      case 'memslotLookup':
      case 'dirtyLogEnable':
      case 'dirtyLogHarvest':
      case 'dirtyLogClear':
      case 'markPageDirty':
      case 'dirtyRingPush':
      case 'dirtyRingExit':
      case 'dirtyRingCollect':
      case 'dirtyRingSync':
      case 'dirtyRingReset':
      case 'mutantActed':
      case 'fastPageFault':
      case 'fastPfGetSpte':
      case 'fastPfCmpxchg':
      case 'ageHva':
      case 'ageSpteRead':
      case 'ageSpte':
      case 'ageSpteMark':
      case 'folioReferenced':
      case 'workloadPhase':
        this.instant(ev, at);
        return;
      case 'apicReload':
        if (ev.outcome !== 'no-slot') this.instant(ev, at);
        return;
      case 'precheck':
        // Thread 001's pre-check: those that retry, each a mmu_lock acquisition (and an invalidator's
        // lock break) spared, as the ftrace log has them; those that go on leave no mark.
        if (ev.retry) this.instant(ev, at);
        return;
      case 'memslotChange':
        if (ev.phase === 'invalid' || ev.phase === 'flushed') this.instant(ev, at);
        return;
      default:
        return;
    }
  }

  /**
   * The trace as JSON text, in chunks (one event per line). `endNs` closes what
   * is still open (default: the instance's clock or the last event; in a
   * checker's replay, the last step); `otherData` is copied into the trace's
   * metadata (scenario, seed, settings).
   */
  *render(opts: { endNs?: number; otherData?: Record<string, unknown> } = {}): Generator<string> {
    const cut = this.budget.truncatedAt;
    const steps = this.clock.active === true;
    // A simulated run's recording stops at the run's end too; a replay's steps end with its last event.
    const stop = steps ? cut : recordingCut(cut, Math.max(opts.endNs ?? 0, this.inst?.rt.endNs ?? 0), this.spans.lastTs);
    const endNs = stop ?? (steps ? Math.max(this.clock.endNs, this.spans.lastTs) : Math.max(opts.endNs ?? 0, this.inst?.rt.endNs ?? 0, this.spans.lastTs));
    const lock = steps ? this.clock.lockIntervals() : this.inst ? lockIntervals(this.inst) : null;
    const spans = this.spans.finish(endNs, lock !== null && stop !== null ? clipLockIntervals(lock, stop) : lock, stop, { inSteps: steps });
    // Threads run ahead of each other within a step: what was kept past the cut goes too.
    const upTo = stop ?? Number.POSITIVE_INFINITY;
    const truncated = cut === null ? {} : { truncated: { atNs: cut, keptEvents: this.budget.taken, droppedEvents: this.budget.dropped } };
    const names = this.inst ? threadNames(this.inst) : [];
    const tids = new Set<number>(names.map((_, i) => i));
    for (const s of spans) tids.add(s.tid);
    const violations: Violation[] = this.inst?.violations ?? [];
    // In steps, a violation stands at the last step of the runtime step that found it.
    const violationStep = (v: Violation) => (steps ? this.clock.violationStep(v.step) : v.step);
    const violationNs = (v: Violation) => (steps ? violationStep(v) * NS_PER_STEP : v.timeNs);
    const time = steps
      ? { time: 'interleaving events as mmulab check/replay print them: event n at n µs (per-thread virtual time does not order threads)' }
      : {};

    // No displayTimeUnit: some versions of Perfetto's trace processor took it as
    // the unit of every ts and dur (which the format has in µs), and read a trace
    // with "ns" a thousand times too short; Perfetto now ignores it, as catapult does.
    yield `{"otherData":${JSON.stringify({ generator: 'mmulab', ...(opts.otherData ?? {}), ...time, ...truncated })},"traceEvents":[\n`;
    let first = true;
    const line = (s: string) => {
      const out = first ? s : `,\n${s}`;
      first = false;
      return out;
    };
    yield line(`{"ph":"M","name":"process_name","pid":${PID},"tid":0,"args":{"name":${JSON.stringify(this.title)}}}`);
    for (const tid of [...tids].sort((a, b) => a - b)) {
      const name = names[tid] ?? (tid < 0 ? 'host' : `thread ${tid}`);
      yield line(`{"ph":"M","name":"thread_name","pid":${PID},"tid":${T(tid)},"args":{"name":${JSON.stringify(name)}}}`);
      yield line(`{"ph":"M","name":"thread_sort_index","pid":${PID},"tid":${T(tid)},"args":{"sort_index":${T(tid)}}}`);
    }

    // Everything else, by time; ties keep slices before what binds to them.
    const recs: Rec[] = [];
    for (const [i, s] of spans.entries()) recs.push({ ts: r(s.start), rank: 1, tid: s.tid, seq: i, out: () => slice(s) });
    for (const [i, x] of this.instants.entries()) {
      if (x.ts > upTo) continue;
      const out = () =>
        `{"ph":"i","s":"t","name":${JSON.stringify(x.name)},"cat":"model","ts":${us(x.ts)},"pid":${PID},"tid":${T(x.tid)},"args":${JSON.stringify(x.args)}}`;
      recs.push({ ts: r(x.ts), rank: 2, tid: x.tid, seq: i, out });
    }
    if (cut !== null) {
      const args = JSON.stringify({ keptEvents: this.budget.taken, droppedEvents: this.budget.dropped });
      recs.push({
        ts: r(cut),
        rank: 2,
        tid: -1,
        seq: -1,
        out: () => `{"ph":"i","s":"g","name":"trace truncated here (event budget)","cat":"mmulab","ts":${us(cut)},"pid":${PID},"tid":0,"args":${args}}`,
      });
    }
    for (const [i, v] of violations.entries()) {
      const args = JSON.stringify({ thread: v.thread, step: violationStep(v), message: v.message });
      const ts = violationNs(v);
      const out = () => `{"ph":"i","s":"g","name":${JSON.stringify(`VIOLATION ${v.kind}`)},"cat":"oracle","ts":${us(ts)},"pid":${PID},"tid":0,"args":${args}}`;
      recs.push({ ts: r(ts), rank: 2, tid: -1, seq: i, out });
    }
    for (const inv of this.causes.invalidations) {
      if (inv.start > upTo) continue;
      const close = Math.min(upTo, inv.end >= 0 ? inv.end : endNs);
      const id = JSON.stringify(`inv${inv.id}`);
      const args = JSON.stringify({
        kind: inv.kind,
        ...hvaRangeArgs(inv.hvaStart, inv.hvaEnd),
        // No gfns: it touched no memslot, or, unfinished, it has not reached kvm_mmu_invalidate_range_add yet.
        gfns: inv.gfnStart >= 0 ? gfnRange(inv.gfnStart, inv.gfnEnd) : inv.end < 0 || inv.end > upTo ? 'none yet (before its range_add)' : 'no memslot',
        // mmu_invalidate_seq after its kvm_mmu_invalidate_end; none before that.
        ...(inv.seq >= 0 && inv.endSeqTs <= upTo ? { seqAfter: inv.seq } : {}),
        ...(inv.end < 0 || inv.end > upTo ? { unfinished: true } : {}),
      });
      const name = JSON.stringify(`invalidation (${inv.kind})`);
      recs.push({
        ts: r(inv.start),
        rank: 0,
        tid: inv.tid,
        seq: inv.id,
        out: () => `{"ph":"b","cat":"mmu_notifier","id":${id},"name":${name},"ts":${us(inv.start)},"pid":${PID},"tid":${T(inv.tid)},"args":${args}}`,
      });
      recs.push({
        ts: r(close),
        rank: 5,
        tid: inv.tid,
        seq: inv.id,
        out: () => `{"ph":"e","cat":"mmu_notifier","id":${id},"name":${name},"ts":${us(close)},"pid":${PID},"tid":${T(inv.tid)}}`,
      });
    }
    // Each vCPU's APIC-access reload stalls, an async track of their own: the stall holds its mmu_lock
    // holds but starts and ends inside them (at the checks' verdicts), so it cannot nest with them.
    for (const [i, st] of this.stalls.finish(endNs, stop).entries()) {
      const id = JSON.stringify(`apic${i}`);
      const name = JSON.stringify(`APIC-access reload stall (${names[st.tid] ?? `vCPU${st.vcpu}`})`);
      const args = JSON.stringify({
        vcpu: st.vcpu,
        reRequests: st.passes,
        ...(steps ? {} : { durationNs: st.end - st.start }),
        ...(st.pfn >= 0 ? { apicAccessAddrPfn: `0x${st.pfn.toString(16)}` } : {}),
        ...(st.unfinished ? { unfinished: true } : {}),
      });
      recs.push({
        ts: r(st.start),
        rank: 0,
        tid: st.tid,
        seq: i,
        out: () => `{"ph":"b","cat":"apic","id":${id},"name":${name},"ts":${us(st.start)},"pid":${PID},"tid":${T(st.tid)},"args":${args}}`,
      });
      recs.push({
        ts: r(st.end),
        rank: 5,
        tid: st.tid,
        seq: i,
        out: () => `{"ph":"e","cat":"apic","id":${id},"name":${name},"ts":${us(st.end)},"pid":${PID},"tid":${T(st.tid)}}`,
      });
    }
    // Flow ends go strictly inside a slice of their track, never at a slice's end:
    // Perfetto binds an 's' (and an 'f' with bp "e") to the slice open on the track
    // when it reads the event, and a slice ending at that very ts may be closed by then
    // (by another event at that ts) or not, so the arrow could leave from a neighbour or
    // from nothing. The cause's point is where its step ended, often the end of a hold.
    const places = new FlowPlaces(spans);
    let flowId = 0;
    for (const f of this.causes.retried) {
      if (f.cause === null || f.end > upTo) continue;
      const id = ++flowId;
      const c = f.cause;
      // The start: at the cause, or just before it (not before the invalidation began), inside the slice it ended.
      const sts = places.before(c.inv.tid, r(c.at), r(c.inv.start));
      // The arrow lands inside the fault slice, after its start, not before its cause.
      const fts = places.within(f.tid, Math.min(Math.max(r(f.start), r(c.at)), r(f.end)), Math.max(r(f.start), sts) + 1, r(f.end) - 1);
      const name = JSON.stringify(RETRY_FLOW_NAMES[c.why]);
      recs.push({
        ts: sts,
        rank: 3,
        tid: c.inv.tid,
        seq: id,
        out: () => `{"ph":"s","cat":"retry","id":${id},"name":${name},"ts":${us(sts)},"pid":${PID},"tid":${T(c.inv.tid)}}`,
      });
      recs.push({
        ts: fts,
        rank: 3,
        tid: f.tid,
        seq: id,
        out: () => `{"ph":"f","bp":"e","cat":"retry","id":${id},"name":${name},"ts":${us(fts)},"pid":${PID},"tid":${T(f.tid)}}`,
      });
    }
    // An APIC-access reload the invalidation made retry: the arrow lands in the read_lock the vCPU took
    // for its mmu_invalidate_retry_gfn (the check's event stands at the hold's end), where one is drawn.
    for (const a of this.causes.apicRetried) {
      if (a.cause === null || a.ts > upTo) continue;
      const c = a.cause;
      const sts = places.before(c.inv.tid, r(c.at), r(c.inv.start));
      const fts = places.before(a.tid, r(a.ts), Math.max(sts + 1, r(a.ts) - FLOW_SEARCH_NS));
      if (!places.ok(c.inv.tid, sts) || !places.ok(a.tid, fts)) continue;
      const id = ++flowId;
      const name = JSON.stringify(`APIC-access reload ${RETRY_FLOW_NAMES[c.why]}`);
      recs.push({
        ts: sts,
        rank: 3,
        tid: c.inv.tid,
        seq: id,
        out: () => `{"ph":"s","cat":"apic-retry","id":${id},"name":${name},"ts":${us(sts)},"pid":${PID},"tid":${T(c.inv.tid)}}`,
      });
      recs.push({
        ts: fts,
        rank: 3,
        tid: a.tid,
        seq: id,
        out: () => `{"ph":"f","bp":"e","cat":"apic-retry","id":${id},"name":${name},"ts":${us(fts)},"pid":${PID},"tid":${T(a.tid)}}`,
      });
    }
    const c = this.counters;
    const mmu = this.inst?.kvm.settings.mmu;
    for (let i = 0; i < c.length; i += 3) {
      const [ts, k, v] = [c[i]!, c[i + 1]!, c[i + 2]!];
      if (ts > upTo) continue;
      recs.push({
        ts: r(ts),
        rank: 4,
        tid: -2 - k,
        seq: i,
        out: () => `{"ph":"C","name":${JSON.stringify(counterName(k, mmu))},"ts":${us(ts)},"pid":${PID},"tid":0,"args":{"value":${v}}}`,
      });
    }
    recs.sort((a, b) => a.ts - b.ts || a.rank - b.rank || a.tid - b.tid || a.seq - b.seq);
    for (const rec of recs) yield line(rec.out());
    yield '\n]}\n';
  }

  /** Samples the counters an event changes; whether it was one of theirs only (no instant of its own in a run). */
  private count(ev: KvmEvent, at: EventStamp): boolean {
    switch (ev.e) {
      case 'invalidateBegin':
        this.setCounter(at.ts, C_IN_PROGRESS, ev.inProgress);
        return true;
      case 'invalidateEnd':
        this.setCounter(at.ts, C_SEQ, ev.seq);
        this.setCounter(at.ts, C_IN_PROGRESS, ev.inProgress);
        return true;
      case 'spCreate':
        this.liveSp++;
        this.sampleGauges(at.ts);
        return true;
      case 'spFree':
        this.liveSp--;
        this.sampleGauges(at.ts);
        return true;
      case 'rootAlloc':
        this.liveRoots.add(ev.root);
        this.sampleGauges(at.ts);
        return true;
      case 'rootFree':
        this.liveRoots.delete(ev.root);
        this.sampleGauges(at.ts);
        return false;
      case 'rootPut':
        // A vCPU dropping a root (kvm_mmu_free_obsolete_roots, a reload): the roots counter is the roots
        // held (root_count > 0), which falls here, before any free (a root zapped in use is freed later).
        this.sampleGauges(at.ts);
        return false;
      case 'spteSet':
        // Installs may allocate page-table pages; zaps free none until the root goes.
        if (ev.newPfn >= 0) this.sampleGauges(at.ts);
        return true;
      case 'mmuValidGen':
        this.setCounter(at.ts, C_VALID_GEN, ev.gen);
        return false;
      case 'zapAllBegin':
      case 'lockBreak':
      case 'zapBatch':
        // Falling, the fast zap's walk; flat or growing, the lock-break zap-all's restarts (thread 000).
        this.zapLeft.on(ev, at);
        return false;
      default:
        return false;
    }
  }

  private instant(ev: KvmEvent, at: EventStamp): void {
    this.instants.push({ ts: at.ts, tid: at.tid, name: instantName(ev), args: { event: ev.e, step: at.step, text: describeEvent(ev), ...instantArgs(ev) } });
  }

  private setCounter(ts: number, k: number, v: number): void {
    if (this.lastCounter[k] === v) return;
    this.lastCounter[k] = v;
    this.counters.push(ts, k, v);
  }

  private sampleGauges(ts: number): void {
    if (this.inst !== null && this.inst.kvm.mmu !== undefined) {
      const g = this.inst.kvm.mmu.gauges();
      this.setCounter(ts, C_SHADOW_PAGES, g.shadowPages);
      this.setCounter(ts, C_ROOTS, g.roots);
    } else {
      this.setCounter(ts, C_SHADOW_PAGES, this.liveSp);
      this.setCounter(ts, C_ROOTS, this.liveRoots.size);
    }
  }
}

/**
 * Whether the event starts or ends a slice on its thread's track at its own
 * time (SpanRecorder): guest mode, a fault, invalidate_range_start, the end of
 * invalidate_range_end, a remote flush, a zap-all and its batches, a memslot
 * change. In a checker's replay the other events are instants.
 */
function edgeOfSlice(ev: KvmEvent): boolean {
  switch (ev.e) {
    case 'vmEntry':
    case 'vmExit':
    case 'faultBegin':
    case 'faultEnd':
    case 'invalidateRangeStart':
    case 'invalidateRangeStartDone':
    case 'invalidateRangeEnd':
    case 'remoteFlushBegin':
    case 'remoteFlushEnd':
    case 'zapAllBegin':
    case 'zapAllEnd':
    case 'zapBatch':
      return true;
    case 'memslotChange':
      return ev.phase === 'begin' || ev.phase === 'done';
    default:
      return false;
  }
}

/** The process every track belongs to. */
const PID = 1;
/** Counter tracks, by index (counterName: the pages one is named for the MMU's). */
const COUNTERS = ['mmu_invalidate_seq', 'mmu_invalidate_in_progress', 'shadow pages', 'roots', 'mmu_valid_gen', 'zap-all: pages left to zap'] as const;

/**
 * A counter track's name. The pages counter counts the MMU's page-table pages
 * in use (MmuBackend.gauges): shadow pages, or under TDP its page tables, which
 * are no shadow pages (the JSON's shadowPages is 0 there): named so.
 */
function counterName(k: number, mmu: Settings['mmu'] | undefined): string {
  return k === C_SHADOW_PAGES && mmu === 'tdp' ? 'TDP page tables' : COUNTERS[k]!;
}
const C_SEQ = 0;
const C_IN_PROGRESS = 1;
const C_SHADOW_PAGES = 2;
const C_ROOTS = 3;
/** Sampled from the first toggle on: a run that never toggles has no such track. */
const C_VALID_GEN = 4;
/** A zap-all's work left (its begin, each lock break, its walk's end): only where a zap-all breaks or ends with a count. */
const C_ZAP_LEFT = 5;

interface Rec {
  /** Time, integer ns. */
  ts: number;
  /** Order among records at the same time: async begin, slices, instants, flows, counters, async end. */
  rank: number;
  tid: number;
  seq: number;
  out: () => string;
}

/** Flow arrow names, by why the fault retried (RetryCause.why). */
const RETRY_FLOW_NAMES: Record<RetryCause['why'], string> = {
  'in-progress': 'retry: invalidation in progress',
  range: 'retry: in the mmu_invalidate range it widened (another still in progress)',
  seq: 'retry: mmu_invalidate_seq changed',
};

/** Trace thread id of a model thread id (0 is reserved for process-wide events; -1, "no thread", becomes 1). */
function T(tid: number): number {
  return tid + 2;
}

/** Integer ns: events carry whole ns unless a cost table has fractions. */
function r(ns: number): number {
  return Math.round(ns);
}

/** µs with exactly the ns digits (no binary fractions in the text). */
export function us(ns: number): string {
  const n = r(ns);
  const whole = Math.floor(n / 1000);
  const frac = n - whole * 1000;
  if (frac === 0) return String(whole);
  return `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

/** How far (ns) a flow end is moved to find a place inside a slice. */
const FLOW_SEARCH_NS = 1000;

/**
 * Where flow events may go on each track: integer ns strictly inside some
 * slice of the track and at the end of none.
 */
class FlowPlaces {
  /** Per track: slice starts (sorted), the latest end among the slices up to each, and every end. */
  private readonly tracks = new Map<number, { starts: number[]; maxEnd: number[]; ends: Set<number> }>();

  constructor(spans: Span[]) {
    // spans come sorted by start.
    for (const s of spans) {
      const t = this.tracks.get(s.tid) ?? { starts: [], maxEnd: [], ends: new Set<number>() };
      this.tracks.set(s.tid, t);
      const [a, b] = [r(s.start), r(s.end)];
      t.starts.push(a);
      t.maxEnd.push(Math.max(b, t.maxEnd[t.maxEnd.length - 1] ?? b));
      t.ends.add(b);
    }
  }

  /** Strictly inside a slice of the track, at the end of none. */
  ok(tid: number, ts: number): boolean {
    const t = this.tracks.get(tid);
    if (t === undefined || t.ends.has(ts)) return false;
    // The last slice starting before ts, and whether any up to it ends after ts.
    let lo = 0;
    let hi = t.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t.starts[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && t.maxEnd[lo - 1]! > ts;
  }

  /** `ts` if it is a place, else the nearest place before it, not before `lo` (nor FLOW_SEARCH_NS before `ts`), else `ts`. */
  before(tid: number, ts: number, lo: number): number {
    for (let t = ts; t >= Math.max(0, lo, ts - FLOW_SEARCH_NS); t--) if (this.ok(tid, t)) return t;
    return ts;
  }

  /** The nearest place to `ts` in [lo, hi], later ones first, else `ts` kept in [lo, hi] where it can be. */
  within(tid: number, ts: number, lo: number, hi: number): number {
    const from = Math.min(Math.max(ts, lo), hi);
    for (let t = from; t <= Math.min(hi, from + FLOW_SEARCH_NS); t++) if (this.ok(tid, t)) return t;
    for (let t = from - 1; t >= Math.max(lo, from - FLOW_SEARCH_NS); t--) if (this.ok(tid, t)) return t;
    return lo <= hi ? from : ts;
  }
}

function slice(s: Span): string {
  return `{"ph":"X","name":${JSON.stringify(s.name)},"cat":${JSON.stringify(s.kind)},"ts":${us(s.start)},"dur":${us(r(s.end) - r(s.start))},"pid":${PID},"tid":${T(s.tid)},"args":${JSON.stringify(s.args)}}`;
}
