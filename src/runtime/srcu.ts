import { ModelBug } from './model-bug.js';
import { type Op, opShared, opWrite } from './op.js';
import type { Runtime } from './runtime.js';
import type { Task, Thread } from './thread.js';
import { WaitQueue } from './wait-queue.js';

/**
 * Sleepable RCU as kvm->srcu uses it for memslots: readers enter and leave read
 * sections; synchronize() returns once every section that began before it ended.
 */
export class Srcu {
  readonly obj: number;
  /** Per thread id: the epoch its read section began in, or -1 outside one. */
  private readonly readers: number[] = [];
  private epoch = 0;
  private readonly waiters: WaitQueue;

  constructor(
    private readonly rt: Runtime,
    readonly name: string,
  ) {
    this.obj = rt.objects.id(name);
    this.readOp = opShared(this.obj);
    this.waiters = new WaitQueue(rt, `synchronize_srcu(${name})`);
  }

  /** The op of synchronize_srcu. */
  get op(): Op {
    return opWrite(this.obj);
  }
  /** The op of srcu_read_lock / srcu_read_unlock: readers commute with each other. */
  readonly readOp: Op;

  readLock(): void {
    const t = this.rt.self();
    if (this.isReading(t)) throw new ModelBug(`${t.name}: nested srcu_read_lock(${this.name})`);
    while (this.readers.length <= t.id) this.readers.push(-1);
    this.readers[t.id] = this.epoch;
  }

  readUnlock(): void {
    const t = this.rt.self();
    if (!this.isReading(t)) throw new ModelBug(`${t.name}: srcu_read_unlock(${this.name}) outside a section`);
    this.readers[t.id] = -1;
    this.waiters.wakeAll();
  }

  isReading(t: Thread): boolean {
    return (this.readers[t.id] ?? -1) >= 0;
  }

  /** synchronize_srcu: waits out every reader that entered before the call. */
  *synchronize(): Task {
    // Race: readers entering and leaving their sections as the grace period starts.
    yield this.op;
    const e = this.epoch++;
    yield* this.waiters.waitUntil(() => {
      for (const v of this.readers) if (v >= 0 && v <= e) return false;
      return true;
    }, this.op);
  }
}
