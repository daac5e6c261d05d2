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

/** Lock intervals that start by `t`, cut at `t` (what a truncated trace can show). */
export function clipLockIntervals(lock: LockIntervals, t: number): LockIntervals {
  const clip = (a: readonly number[]) => {
    const out: number[] = [];
    for (let i = 0; i < a.length; i += 4) if (a[i]! <= t) out.push(a[i]!, Math.min(a[i + 1]!, t), a[i + 2]!, a[i + 3]!);
    return out;
  };
  const started = (a: readonly number[]) => {
    const out: number[] = [];
    for (let i = 0; i < a.length; i += 3) if (a[i]! <= t) out.push(a[i]!, a[i + 1]!, a[i + 2]!);
    return out;
  };
  return { holds: clip(lock.holds), waits: clip(lock.waits), open: started(lock.open), waiting: started(lock.waiting) };
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
