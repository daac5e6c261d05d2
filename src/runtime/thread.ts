import type { Op } from './op.js';

/** A thread's body: a generator that yields an Op at every interleaving point. */
export type Task = Generator<Op, void, void>;

/**
 * A generator the runtime runs for a thread: it yields an Op at every
 * interleaving point, or a Frame to call. A yielded Frame runs at once, in
 * the same step, as `yield*` would run it, and its caller resumes with its
 * return value (or its exception) when it returns; the difference is that
 * the runtime keeps the callers on a stack of its own, so that a step of the
 * callee resumes the callee alone, where `yield*` resumes every generator
 * between the thread's body and the one that runs (about 25 ns a level on
 * Node 20). `yield*` stays right everywhere: yielding a Frame is only faster.
 */
export type Frame = Generator<Op | Frame, unknown, void>;

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
  /** The generator resumed at the next step: the body, or the Frame it (or a Frame it called) called. */
  task: Frame;
  /** The Frames waiting for a Frame they called to return, innermost last (the body first). */
  readonly callers: Frame[] = [];
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

  constructor(id: number, name: string, task: Frame) {
    this.id = id;
    this.name = name;
    this.task = task;
  }
}
