import type { Sink } from '../kvm/events.js';
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

/** Makes mmu_lock keep its hold and wait intervals (idempotent). */
export function recordLockIntervals(inst: KvmInstance): void {
  const stats = inst.kvm.mmuLock.stats;
  if (stats.holds === null) stats.holds = [];
  if (stats.waitIntervals === undefined || stats.waitIntervals === null) stats.waitIntervals = [];
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
}

export function lockIntervals(inst: KvmInstance): LockIntervals {
  const stats = inst.kvm.mmuLock.stats;
  return { holds: stats.holds ?? [], waits: stats.waitIntervals ?? [] };
}
