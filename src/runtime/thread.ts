import type { Op } from './op.js';

/** A thread's body: a generator that yields an Op at every interleaving point. */
export type Task = Generator<Op, void, void>;

/** Where a thread is in its life. */
export type ThreadState =
  /** may be picked to run its next step */
  | 'runnable'
  /** waits for a lock, a wait queue or SRCU; another thread wakes it */
  | 'blocked'
  /** its body returned */
  | 'done';

export class Thread {
  /** Dense index, also the order the checker enumerates choices in. */
  readonly id: number;
  /** Name as printed in traces and counterexamples ("vCPU0", "reclaim"). */
  readonly name: string;
  /** The body, resumed once per step. */
  readonly task: Task;
  /** Life-cycle state. */
  state: ThreadState = 'runnable';
  /** What the next step touches, as announced at the last yield. */
  op: Op = 3;
  /** Virtual time (ns) at which the next step may start. */
  readyAt = 0;
  /** Virtual time (ns) at which the thread last blocked. */
  blockedAt = 0;
  /** What the thread is blocked on, for deadlock and livelock reports. */
  waitingFor = '';
  /** Steps this thread has run. */
  steps = 0;
  /** Shared-state writes by other threads seen at this thread's previous spin (-1: none yet). */
  lastSpinOthersWrites = -1;
  /** Shared-state writes this thread has announced. */
  ownWrites = 0;
  /** Free slot for the model (the vCPU or host object behind this thread). */
  owner: unknown = undefined;

  constructor(id: number, name: string, task: Task) {
    this.id = id;
    this.name = name;
    this.task = task;
  }
}
