import type { Sink } from '../kvm/events.js';
import type { LockObserver, RwLock } from '../runtime/rwlock.js';
import type { KvmInstance } from '../scenario/instantiate.js';

/**
 * A sink that also reads the instance it listens to: thread names, mmu_lock
 * hold and wait intervals, MMU gauges. `attach` is called once the instance is
 * built and before its first step (simulate's `onInstance`, or the checker's
 * instance factory for a replay).
 */
export interface InstanceSink extends Sink {
  attach(inst: KvmInstance): void;
}

/**
 * Who holds mmu_lock now and who waits for it, and since when (virtual ns): the
 * lock keeps a hold's or a wait's interval only once it is over, so one still
 * going when the run stops is known from here alone. Takes the lock's observer
 * slot and forwards everything to the observer it found there.
 */
class LockNow implements LockObserver {
  /** Start of the current hold, by thread id. */
  readonly holding = new Map<number, number>();
  /** Start of the current wait, by thread id. */
  readonly waiting = new Map<number, number>();
  private readonly next: LockObserver | null;

  constructor(
    private readonly lock: RwLock,
    private readonly inst: KvmInstance,
  ) {
    this.next = lock.observer;
    lock.observer = this;
  }

  taken(t: number): void {
    // The hold started before the uncontended acquisition's cost was charged.
    this.holding.set(t, this.inst.rt.now() - this.lock.acquireNs);
    this.next?.taken(t);
  }

  queued(t: number): void {
    this.waiting.set(t, this.inst.rt.now());
    this.next?.queued(t);
  }

  resumed(t: number, write: boolean): void {
    // The hold starts where the wait's interval ends.
    this.waiting.delete(t);
    this.holding.set(t, this.inst.rt.now());
    this.next?.resumed(t, write);
  }

  released(t: number, write: boolean): void {
    this.holding.delete(t);
    this.next?.released(t, write);
  }
}

const watched = new WeakMap<RwLock, LockNow>();

/** Makes mmu_lock keep its hold and wait intervals, and watches who holds and waits for it (idempotent). */
export function recordLockIntervals(inst: KvmInstance): void {
  const lock = inst.kvm.mmuLock;
  const stats = lock.stats;
  if (stats.holds === null) stats.holds = [];
  if (stats.waitIntervals === undefined || stats.waitIntervals === null) stats.waitIntervals = [];
  if (!watched.has(lock)) watched.set(lock, new LockNow(lock, inst));
}

/**
 * Holds or waits still going at the end, as [start, mode, tid] triples, oldest
 * first, from [tid, start] pairs: a holder's mode is how it holds mmu_lock, a
 * waiter's the operation it announced before queueing (write_lock's, or
 * read_lock's), which it still has while blocked.
 */
export function stillGoing(inst: KvmInstance, started: Iterable<[number, number]>, holding: boolean): number[] {
  const lock = inst.kvm.mmuLock;
  const out: number[] = [];
  for (const [tid, start] of [...started].sort((a, b) => a[1] - b[1] || a[0] - b[0])) {
    const t = inst.rt.threads[tid]!;
    out.push(start, (holding ? lock.isWriteHeldBy(t) : t.op === lock.op) ? 1 : 0, tid);
  }
  return out;
}

/** Names of the instance's threads, by thread id. */
export function threadNames(inst: KvmInstance): string[] {
  return inst.rt.threads.map((t) => t.name);
}

/** mmu_lock intervals as kept by the lock: flat [start, end, mode (0 read, 1 write), tid] quadruples. */
export interface LockIntervals {
  /** Completed holds. */
  holds: readonly number[];
  /** Completed contended waits. */
  waits: readonly number[];
  /** Holds still going at the end: flat [start, mode, tid] triples. */
  open: readonly number[];
  /** Contended waits still going at the end, laid out like `open`. */
  waiting: readonly number[];
}

export function lockIntervals(inst: KvmInstance): LockIntervals {
  const stats = inst.kvm.mmuLock.stats;
  const now = watched.get(inst.kvm.mmuLock);
  return {
    holds: stats.holds ?? [],
    waits: stats.waitIntervals ?? [],
    open: now ? stillGoing(inst, now.holding, true) : [],
    waiting: now ? stillGoing(inst, now.waiting, false) : [],
  };
}
