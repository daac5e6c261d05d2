import type { EventStamp, KvmEvent } from '../kvm/events.js';
import { LineJoin } from '../oracle/line-join.js';
import type { LockObserver } from '../runtime/rwlock.js';
import type { KvmInstance } from '../scenario/instantiate.js';
import { type LockIntervals, stillGoing } from './attach.js';

/** Trace time of one step of an interleaving: step n stands at n µs. */
export const NS_PER_STEP = 1000;

/**
 * The time the exports of a checker's replay (check and replay --trace,
 * --ftrace) are written in. The checker gives each thread its own virtual
 * clock (Runtime.localTime), so that two threads' times do not tell which ran
 * first; ordered by them, a trace shows the race in another order than the
 * interleaving found (a fault before the invalidation it raced with, or after).
 * There the exports place events by the interleaving instead: the step log
 * keeps one line per event, so the n-th event of the replay is line n of the
 * interleaving as `mmulab check` and `mmulab replay` print it, and it stands at
 * step n (n µs); an event the log joins to the line before (oracle/line-join.ts)
 * stands at that line's step, with it. What happens between two events and has no event of its own
 * (mmu_lock taken, waited for, released) is placed between them, in the order
 * it happened. The count needs every event: a sink using this clock reads
 * every kind (declares no `kinds`), as the step log does.
 *
 * A simulated run (one clock for every thread) keeps virtual time: the clock
 * turns itself on at the first event only when the instance's time is per
 * thread, and else lets go of the lock it watched.
 */
export class StepClock {
  /** Whether the exports are in steps: null until the first event says. */
  active: boolean | null = null;
  /** Events seen so far, less those joined to the line before: the interleaving step of the latest (its line). */
  events = 0;
  /**
   * The interleaving step of the event the first violation was found on (the
   * oracle reads each event before the exports do), where the step log ends.
   */
  private violationAt: number | null = null;
  /** Runtime step of each event, by interleaving step - 1 (to place what the oracle reports by runtime step). */
  private readonly runtimeSteps: number[] = [];
  /** Per point between events: the events seen before it. */
  private readonly marks: number[] = [];
  private readonly stamped: EventStamp = { ts: 0, step: 0, tid: -1 };
  /** The events the step log joins to the line before. */
  private readonly join = new LineJoin();
  private inst: KvmInstance | null = null;
  private lock: LockWatch | null = null;

  /**
   * Binds to the instance before its first step; with `watchLock`, watches
   * mmu_lock in case the run turns out to be a checker's (for lockIntervals).
   */
  attach(inst: KvmInstance, opts: { watchLock?: boolean } = {}): void {
    this.inst = inst;
    this.lock = opts.watchLock ? new LockWatch(inst, () => this.mark()) : null;
  }

  /**
   * Call with every event `ev`, before recording it: the stamp to record it by
   * (the same one in virtual time; a scratch stamp in steps, to copy from).
   * Null in steps for an event after the one the first violation was found
   * on: the rest of the step the run stops in, which the printed interleaving
   * leaves out (oracle/step-log.ts), so that the exports end where it ends,
   * event for event.
   */
  stamp(ev: KvmEvent, at: EventStamp): EventStamp | null {
    if (this.active === null) {
      // The checker turns per-thread time on after building the instance, before its first step.
      this.active = this.inst?.rt.localTime === true;
      if (!this.active) {
        this.lock?.release();
        this.lock = null;
      }
    }
    if (!this.active) return at;
    if (this.violationAt !== null) return null;
    if (!this.join.joins(ev, at) || this.events === 0) {
      this.events++;
      this.runtimeSteps.push(at.step);
    }
    if (this.violationAt === null && this.inst !== null && this.inst.violations.length > 0) this.violationAt = this.events;
    const s = this.stamped;
    s.ts = this.events * NS_PER_STEP;
    s.step = this.events;
    s.tid = at.tid;
    return s;
  }

  /**
   * Where a violation reported at runtime step `step` stands: on the event it
   * was found on, as the printed interleaving ends there; one the checker found
   * after the step (a deadlock, a livelock) on the step's last event.
   */
  violationStep(step: number): number {
    return this.violationAt ?? this.stepOfRuntimeStep(step);
  }

  /** Interleaving step of the last event at or before runtime step `step` (0 if none). */
  private stepOfRuntimeStep(step: number): number {
    let lo = 0;
    let hi = this.runtimeSteps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.runtimeSteps[mid]! <= step) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** mmu_lock's holds and contended waits, in steps (null when not watched). */
  lockIntervals(): LockIntervals | null {
    if (this.lock === null) return null;
    const pos = this.positions();
    const map = (a: readonly number[]) => {
      const out: number[] = [];
      for (let i = 0; i < a.length; i += 4) out.push(pos[a[i]!]!, pos[a[i + 1]!]!, a[i + 2]!, a[i + 3]!);
      return out;
    };
    const going = (marks: Map<number, number>, holding: boolean): number[] => {
      if (this.inst === null) return [];
      return stillGoing(
        this.inst,
        [...marks].map(([t, at]): [number, number] => [t, pos[at]!]),
        holding,
      );
    };
    return { holds: map(this.lock.holds), waits: map(this.lock.waits), open: going(this.lock.holdStart, true), waiting: going(this.lock.waitStart, false) };
  }

  /** The end of the recording: the last event, or a point after it. */
  get endNs(): number {
    const last = this.marks.length > 0 ? this.positions()[this.marks.length - 1]! : 0;
    return Math.max(this.events * NS_PER_STEP, last);
  }

  /** A point between the last event and the next; returns its id. */
  private mark(): number {
    this.marks.push(this.events);
    return this.marks.length - 1;
  }

  /** Time of each mark: the k-th of K points after event n stands at n + k / (K + 1) steps. */
  private positions(): number[] {
    const m = this.marks;
    const out = new Array<number>(m.length);
    let i = 0;
    while (i < m.length) {
      let j = i;
      while (j < m.length && m[j] === m[i]) j++;
      for (let k = i; k < j; k++) out[k] = Math.round((m[i]! + (k - i + 1) / (j - i + 1)) * NS_PER_STEP);
      i = j;
    }
    return out;
  }
}

/**
 * Where, among the events, mmu_lock was taken, waited for and released: the
 * lock keeps its intervals in virtual time, which a checker's replay keeps per
 * thread; as the lock's observer, this notes a point at each of them instead.
 * A hold handed over to a waiter starts when the waiter resumes (as the
 * virtual-time trace draws it). Takes the lock's observer slot and forwards
 * everything to the observer it found there.
 */
class LockWatch implements LockObserver {
  /** [start mark, end mark, mode, tid] per hold, in the order they end. */
  readonly holds: number[] = [];
  /** The same for contended waits. */
  readonly waits: number[] = [];
  /** Start mark of each hold and wait still going, by thread id. */
  readonly holdStart = new Map<number, number>();
  readonly waitStart = new Map<number, number>();
  private readonly next: LockObserver | null;
  /** Released while another observer had chained to it: it only forwards. */
  private off = false;

  constructor(
    private readonly inst: KvmInstance,
    private readonly mark: () => number,
  ) {
    this.next = inst.kvm.mmuLock.observer;
    inst.kvm.mmuLock.observer = this;
  }

  taken(t: number): void {
    if (!this.off) this.holdStart.set(t, this.mark());
    this.next?.taken(t);
  }

  queued(t: number): void {
    if (!this.off) this.waitStart.set(t, this.mark());
    this.next?.queued(t);
  }

  resumed(t: number, write: boolean): void {
    if (!this.off) {
      const at = this.mark();
      this.waits.push(this.waitStart.get(t) ?? at, at, write ? 1 : 0, t);
      this.waitStart.delete(t);
      this.holdStart.set(t, at);
    }
    this.next?.resumed(t, write);
  }

  released(t: number, write: boolean): void {
    if (!this.off) {
      const at = this.mark();
      this.holds.push(this.holdStart.get(t) ?? at, at, write ? 1 : 0, t);
      this.holdStart.delete(t);
    }
    this.next?.released(t, write);
  }

  /** Stops watching (a simulated run, which needs none of this); forwards still if another observer chained to it. */
  release(): void {
    const lock = this.inst.kvm.mmuLock;
    if (lock.observer === this) lock.observer = this.next;
    else this.off = true;
  }
}
