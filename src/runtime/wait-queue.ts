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
  /** By waiter (same index): the condition it waits for, when it came through waitUntil; else null. */
  private readonly conds: ((() => boolean) | null)[] = [];
  constructor(
    private readonly rt: Runtime,
    readonly name: string,
  ) {}

  /** Blocks the running thread until `cond()` holds; `op` is announced on each re-test. */
  *waitUntil(cond: () => boolean, op: Op): Task {
    while (!cond()) {
      this.waiters.push(this.rt.self());
      this.conds.push(cond);
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
      this.conds.push(cond);
      this.rt.block(this.name);
    }
  }

  /** Wakes every waiter so that it re-tests its condition. */
  wakeAll(): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters.splice(0);
    this.conds.length = 0;
    for (const w of ws) if (w.state === 'blocked') this.rt.wake(w);
  }

  /**
   * Wakes only the waiters whose condition holds now; the others stay blocked
   * (no re-test that finds it false again). For a queue whose waiters wait for
   * different things (the IPI acknowledgement of one vCPU each): a thread that
   * changes what one waiter tests does not wake the others, so its step and
   * theirs commute as their announced ops say (a wake-up that only leads to a
   * re-test that blocks again would not: in one order the waiter blocks before
   * the wake and re-tests, in the other it blocks after it and does not).
   */
  wakeReady(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      const cond = this.conds[i];
      if (w.state === 'blocked' && cond !== null && cond !== undefined && !cond()) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      this.conds.splice(i, 1);
      if (w.state === 'blocked') this.rt.wake(w);
    }
  }

  get length(): number {
    return this.waiters.length;
  }
}
