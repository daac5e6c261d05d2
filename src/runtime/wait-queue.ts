import type { Op } from './op.js';
import type { Runtime } from './runtime.js';
import type { Task, Thread } from './thread.js';

/**
 * Threads waiting for a condition another thread makes true (rcuwait, the
 * acknowledgement of a WAIT request). Waiters block; whoever changes the
 * condition calls wakeAll and each waiter re-tests it.
 */
export class WaitQueue {
  private readonly waiters: Thread[] = [];
  constructor(
    private readonly rt: Runtime,
    readonly name: string,
  ) {}

  /** Blocks the running thread until `cond()` holds; `op` is announced on each re-test. */
  *waitUntil(cond: () => boolean, op: Op): Task {
    while (!cond()) {
      this.waiters.push(this.rt.self());
      this.rt.block(this.name);
      yield op;
    }
  }

  /**
   * Like waitUntil, but the first test is made in a step announcing `op` too, so
   * that the test that passes and what the caller does next are one step (a
   * test and an update under one lock).
   */
  *stepUntil(cond: () => boolean, op: Op): Task {
    for (;;) {
      yield op;
      if (cond()) return;
      this.waiters.push(this.rt.self());
      this.rt.block(this.name);
    }
  }

  /** Wakes every waiter so that it re-tests its condition. */
  wakeAll(): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters.splice(0);
    for (const w of ws) if (w.state === 'blocked') this.rt.wake(w);
  }

  get length(): number {
    return this.waiters.length;
  }
}
