import type { EventStamp } from '../kvm/events.js';
import type { LockIntervals } from './attach.js';

/** Events a recording sink keeps by default before it stops (bounds memory on huge runs). */
export const DEFAULT_MAX_EVENTS = 4_000_000;

/**
 * How many events a sink may record. Past the bound the sink ignores the rest
 * of the run and its output says where it stopped, so that a huge run gives a
 * truncated trace instead of exhausting memory.
 */
export class EventBudget {
  /** Events taken so far. */
  taken = 0;
  /** Events refused. */
  dropped = 0;
  /** Time of the first refused event, ns, or null while nothing was refused. */
  truncatedAt: number | null = null;

  constructor(readonly max: number = DEFAULT_MAX_EVENTS) {}

  /** Whether to record the event stamped `at`. */
  take(at: EventStamp): boolean {
    if (this.truncatedAt === null && this.taken < this.max) {
      this.taken++;
      return true;
    }
    if (this.truncatedAt === null) this.truncatedAt = at.ts;
    this.dropped++;
    return false;
  }
}

/**
 * Lock intervals that start by `t`, as a recording cut at `t` can show them:
 * a hold or a wait that went on past `t` is, at `t`, still going, so it joins
 * `open` or `waiting` (drawn to the cut and marked unfinished, as the other
 * spans the cut shortens), not the completed ones, which would show it ending
 * at the cut. A wait that ended after `t` but whose hold began by `t` (the
 * hand-over grants the lock before the waiter resumes) is over at the hold's
 * start: it stays completed, cut at `t`, and the spans end it at the hold.
 */
export function clipLockIntervals(lock: LockIntervals, t: number): LockIntervals {
  const open = started(lock.open, t);
  const waiting = started(lock.waiting, t);
  const holds: number[] = [];
  /** Per thread, the starts of its holds taken by `t`. */
  const heldFrom = new Map<number, number[]>();
  const heldAt = (tid: number, s: number) => {
    const list = heldFrom.get(tid);
    if (list === undefined) heldFrom.set(tid, [s]);
    else list.push(s);
  };
  for (let i = 0; i < open.length; i += 3) heldAt(open[i + 2]!, open[i]!);
  const h = lock.holds;
  for (let i = 0; i < h.length; i += 4) {
    const [s, e, mode, tid] = [h[i]!, h[i + 1]!, h[i + 2]!, h[i + 3]!];
    if (s > t) continue;
    if (e > t) open.push(s, mode, tid);
    else holds.push(s, e, mode, tid);
    heldAt(tid, s);
  }
  const waits: number[] = [];
  const w = lock.waits;
  for (let i = 0; i < w.length; i += 4) {
    const [s, e, mode, tid] = [w[i]!, w[i + 1]!, w[i + 2]!, w[i + 3]!];
    if (s > t) continue;
    if (e > t && !(heldFrom.get(tid) ?? []).some((x) => x >= s)) waiting.push(s, mode, tid);
    else waits.push(s, Math.min(e, t), mode, tid);
  }
  return { holds, waits, open: byStart(open), waiting: byStart(waiting) };
}

/** The [start, mode, tid] triples of `a` that start by `t`. */
function started(a: readonly number[], t: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i += 3) if (a[i]! <= t) out.push(a[i]!, a[i + 1]!, a[i + 2]!);
  return out;
}

/** [start, mode, tid] triples, oldest first (as lockIntervals gives them), in order at equal starts. */
function byStart(a: number[]): number[] {
  const idx = Array.from({ length: a.length / 3 }, (_, i) => i).sort((x, y) => a[3 * x]! - a[3 * y]! || x - y);
  return idx.flatMap((i) => [a[3 * i]!, a[3 * i + 1]!, a[3 * i + 2]!]);
}

/**
 * Where a recording of a simulated run stops: at the event budget's cut, else
 * at the run's end when events were stamped after it, else nowhere (null).
 * A run stopped by stop.timeNs ends at that time (its simTimeNs), but the
 * steps begun before it stamp their events as far as their costs take them:
 * what a trace or a timeline shows of them is cut at the run's end, so that
 * nothing ends after the run (0: the run's end is not known).
 */
export function recordingCut(budgetCut: number | null, runEndNs: number, lastTs: number): number | null {
  if (budgetCut !== null) return budgetCut;
  return runEndNs > 0 && lastTs > runEndNs ? runEndNs : null;
}
