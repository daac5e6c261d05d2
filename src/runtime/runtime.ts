import { ModelBug } from './model-bug.js';
import { ObjectRegistry } from './objects.js';
import { type Op, opWrites } from './op.js';
import type { Weighted } from './prng.js';
import { type Frame, Thread } from './thread.js';

/**
 * What a driver (simulator, checker, replay) supplies: the source of the model's
 * random draws, and a hook told when a blocked thread becomes runnable.
 */
export interface Driver {
  /**
   * A draw in [0, n) for the model (workload choices), uniform, or with the
   * weights of `w` when given (then n is w.n). Recorded by schedules as the
   * value returned.
   */
  draw(n: number, w?: Weighted): number;
  /** `t` was blocked and is runnable again. */
  woke(t: Thread): void;
}

/**
 * One execution: its threads, the virtual clock and the step loop primitive. It
 * knows nothing of what the threads model; drivers pick which thread steps next.
 */
export class Runtime {
  /** Every thread ever spawned, by id. */
  readonly threads: Thread[] = [];
  /** Names of shared objects announced at yield points. */
  readonly objects = new ObjectRegistry();
  /** The thread whose step is running, or null between steps. */
  current: Thread | null = null;
  /** Virtual time (ns) at which the current or last step started. */
  clock = 0;
  /** Cost charged so far in the current step. */
  private charged = 0;
  /** Virtual time (ns) at which the step that ended last ended: the time simulated so far. */
  endNs = 0;
  /** Steps run so far. */
  steps = 0;
  /** Announced writes to shared state so far, by all threads. */
  writes = 0;
  /** Set by the driver; defaults to a driver with no randomness. */
  driver: Driver = { draw: () => 0, woke: () => {} };
  /**
   * Per-thread virtual time, for drivers that choose the order of steps
   * themselves (the checker): a step starts at its own thread's time, and a
   * wake-up does not move the woken thread's clock to the waker's. Each
   * thread's clock then depends only on its own steps, so decisions made on
   * time (a time slice used up, a guest timer) cannot tell apart two orders of
   * steps that commute. Off (the simulator): one clock that only goes forward.
   */
  localTime = false;

  /** Creates a thread that will run `body`; it starts runnable at the current time. */
  spawn(name: string, body: (self: Thread) => Frame, owner?: unknown): Thread {
    // The generator is created lazily so that `self` exists before the body runs.
    const t = new Thread(this.threads.length, name, null as unknown as Frame);
    t.task = body(t);
    t.owner = owner;
    t.readyAt = this.now();
    this.threads.push(t);
    return t;
  }

  /** Virtual time now, within the current step. */
  now(): number {
    return this.clock + this.charged;
  }

  /** Charges `ns` of virtual time to the current step (work done, or time slept). */
  charge(ns: number): void {
    this.charged += ns;
  }

  /** A random draw in [0, n) from the driver. */
  draw(n: number): number {
    return this.driver.draw(n);
  }

  /** One of w.n outcomes from the driver, with the weights of `w`. */
  drawWeighted(w: Weighted): number {
    return this.driver.draw(w.n, w);
  }

  /** The running thread; a ModelBug outside a step. */
  self(): Thread {
    const t = this.current;
    if (t === null) throw new ModelBug('no thread is running');
    return t;
  }

  /** Marks the running thread blocked; it must yield right after. */
  block(why: string): void {
    const t = this.self();
    t.state = 'blocked';
    t.blockedAt = this.now();
    t.waitingFor = why;
  }

  /**
   * Makes a blocked thread runnable no earlier than now, plus `delayNs` (a lock
   * hand-over's cost). Its time is final before the driver hears of it: a
   * driver may queue it by that time.
   */
  wake(t: Thread, delayNs = 0): void {
    if (t.state !== 'blocked') throw new ModelBug(`wake of ${t.name}, which is ${t.state}`);
    t.state = 'runnable';
    t.waitingFor = '';
    const now = this.now();
    if (!this.localTime && t.readyAt < now) t.readyAt = now;
    t.readyAt += delayNs;
    this.driver.woke(t);
  }

  /** Runs one step of `t`: from its last yield to its next one. */
  runStep(t: Thread): void {
    if (t.state !== 'runnable') throw new ModelBug(`step of ${t.name}, which is ${t.state}`);
    if (this.localTime || t.readyAt > this.clock) this.clock = t.readyAt;
    this.charged = 0;
    this.current = t;
    if (opWrites(t.op)) {
      this.writes++;
      t.ownWrites++;
    }
    let r: IteratorResult<Op | Frame, unknown>;
    try {
      r = t.task.next();
    } catch (e) {
      r = unwind(t, e);
    }
    if (r.done === true ? t.callers.length > 0 : typeof r.value !== 'number') r = calls(t, r);
    this.current = null;
    this.steps++;
    t.steps++;
    const end = this.clock + this.charged;
    t.readyAt = end;
    if (end > this.endNs) this.endNs = end;
    if (r.done) {
      t.state = 'done';
    } else {
      t.op = r.value as Op;
    }
  }

  /** Threads that may run now, in id order. */
  runnable(out: Thread[] = []): Thread[] {
    out.length = 0;
    for (const t of this.threads) if (t.state === 'runnable') out.push(t);
    return out;
  }

  /** True when every thread has finished. */
  allDone(): boolean {
    for (const t of this.threads) if (t.state !== 'done') return false;
    return true;
  }
}

/**
 * Goes on with thread `t`'s step after its generator yielded a Frame (`r`)
 * or returned to a caller: runs the Frames called, and resumes their callers
 * as they return, until one yields an Op or the body returns.
 */
function calls(t: Thread, r: IteratorResult<Op | Frame, unknown>): IteratorResult<Op | Frame, unknown> {
  for (;;) {
    if (r.done === true) {
      const caller = t.callers.pop();
      if (caller === undefined) return r;
      t.task = caller;
      try {
        // The callee's return value, as the value of the caller's yield (typed void: a caller that wants it casts).
        r = caller.next(r.value as undefined);
      } catch (e) {
        r = unwind(t, e);
      }
    } else if (typeof r.value === 'number') {
      return r;
    } else {
      const callee = r.value;
      t.callers.push(t.task);
      t.task = callee;
      try {
        r = callee.next();
      } catch (e) {
        r = unwind(t, e);
      }
    }
  }
}

/** Throws `e`, which `t`'s running Frame threw, into its caller, as `yield*` would; out of the step when the body threw it. */
function unwind(t: Thread, e: unknown): IteratorResult<Op | Frame, unknown> {
  for (;;) {
    const caller = t.callers.pop();
    if (caller === undefined) throw e;
    t.task = caller;
    try {
      return caller.throw(e);
    } catch (e2) {
      e = e2;
    }
  }
}
