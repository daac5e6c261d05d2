import { ModelBug } from './model-bug.js';
import { OP_LOCAL, type Op, opShared, opWrite } from './op.js';
import type { Runtime } from './runtime.js';
import type { Task, Thread } from './thread.js';

/** Where a lock reports the wait of each contended acquisition, ns (a driver's distribution). */
export interface WaitRecorder {
  record(ns: number): void;
}

/** Contention figures a lock keeps about itself. */
export interface LockStats {
  readAcquires: number;
  writeAcquires: number;
  /** Acquisitions that had to wait. */
  contended: number;
  /** Wait times of contended acquisitions, ns, when a driver wants them (null: not kept). */
  waits: WaitRecorder | null;
  /** Longest write hold, ns. */
  writeHoldMaxNs: number;
  /** Hold intervals, for reports: [start, end, mode 0=read 1=write, thread id]. */
  holds: number[] | null;
  /** Wait intervals of contended acquisitions, for reports, laid out like `holds`; null: not kept. */
  waitIntervals?: number[] | null;
  /**
   * Lock breaks (a cond_resched that dropped the lock): those in which another
   * thread took the lock before the holder had it back, the acquisitions by
   * other threads in all breaks, and the longest time a holder was without it
   * (drop to re-take), ns.
   */
  breaksYielded: number;
  breakAcquires: number;
  breakOffMaxNs: number;
}

/** One lock break as its holder saw it once it had the lock back (RwLock.lastBreak). */
export interface LockBreakFigures {
  /** Acquisitions by other threads between the drop and the re-take. */
  others: number;
  /** From the drop to the re-take, ns: what the holder waited to get the lock back. */
  offNs: number;
}

export function newLockStats(recordHolds = false): LockStats {
  return {
    readAcquires: 0,
    writeAcquires: 0,
    contended: 0,
    waits: null,
    writeHoldMaxNs: 0,
    holds: recordHolds ? [] : null,
    breaksYielded: 0,
    breakAcquires: 0,
    breakOffMaxNs: 0,
  };
}

/**
 * Told, in the order they happen, when threads take, queue for, resume with
 * and release a lock: for exporters that place lock intervals among a run's
 * steps rather than in its virtual time.
 */
export interface LockObserver {
  /** Thread `t` took the free lock at once. */
  taken(t: number): void;
  /** Thread `t` queued behind the holders. */
  queued(t: number): void;
  /** Thread `t`, which queued, resumed holding the lock (write: for write). */
  resumed(t: number, write: boolean): void;
  /** Thread `t` released its hold. */
  released(t: number, write: boolean): void;
}

interface Waiter {
  thread: Thread;
  write: boolean;
}

/**
 * A queued reader-writer lock with fair hand-over, like x86's qrwlock that backs
 * kvm->mmu_lock: once anyone waits, newcomers queue behind it, and a release hands
 * the lock to the head of the queue (a writer, or every reader up to the next
 * writer). Blocking and waking go through the runtime.
 */
export class RwLock {
  /** Object id announced at yield points. */
  readonly obj: number;
  /**
   * Per thread id: when it took the lock for read (its read hold, and its time
   * slice, start there: condReschedRead re-takes the lock), or -1 when it does
   * not hold it for read. An array by id rather than a Set and a Map keyed by
   * thread: the checker takes and drops mmu_lock for read at most of its steps.
   */
  private readonly readSince: number[] = [];
  /** Threads holding it for read. */
  private readers = 0;
  /** Thread holding it for write, or null. */
  private writer: Thread | null = null;
  /** FIFO of waiters. */
  private readonly queue: Waiter[] = [];
  /** Start of the current write hold. */
  private writeSince = 0;
  readonly stats: LockStats;
  /** Told of every acquisition, wait and release, when set (trace exporters). */
  observer: LockObserver | null = null;
  /** Cost, in ns, of handing the lock to a waiter (cache-line transfer, wake-up). */
  handoverNs = 0;
  /** Cost, in ns, of an uncontended acquisition. */
  acquireNs = 0;
  /** Time slice, ns: a holder who has run this long without yielding should reschedule. */
  timesliceNs = Number.POSITIVE_INFINITY;
  /** Last time the current writer (re)took the lock or rescheduled. */
  private sliceStart = 0;
  /** The last lock break's figures, set when its holder has the lock back (read them before the next break). */
  readonly lastBreak: LockBreakFigures = { others: 0, offNs: 0 };

  constructor(
    private readonly rt: Runtime,
    readonly name: string,
    stats?: LockStats,
  ) {
    this.obj = rt.objects.id(name);
    this.stats = stats ?? newLockStats();
  }

  /** Counts from now on: what came before (a warm start) is left out. */
  resetStats(): void {
    Object.assign(this.stats, newLockStats());
  }

  /** The op to announce before a write-side operation on this lock. */
  get op(): Op {
    return opWrite(this.obj);
  }
  /**
   * The op to announce before a read-side operation: read_lock and read_unlock of
   * two threads commute (the holders and the queue end up the same); they race
   * only with the write side.
   */
  get readOp(): Op {
    return opShared(this.obj);
  }

  isWriteHeldBy(t: Thread): boolean {
    return this.writer === t;
  }
  isReadHeldBy(t: Thread): boolean {
    return (this.readSince[t.id] ?? -1) >= 0;
  }
  isHeldBy(t: Thread): boolean {
    return this.writer === t || this.isReadHeldBy(t);
  }
  /** Someone waits for the lock (rwlock_needbreak's "contended"). */
  contended(): boolean {
    return this.queue.length > 0;
  }
  /**
   * The calling holder has used up its time slice (should_resched): counted from
   * when it took the lock or last rescheduled, a reader's from its own hold (the
   * reschedule that clears need_resched is that thread's, not the last writer's).
   */
  shouldResched(): boolean {
    const t = this.rt.self();
    const start = this.writer === t ? this.sliceStart : this.isReadHeldBy(t) ? this.readSince[t.id]! : this.rt.now();
    return this.rt.now() - start >= this.timesliceNs;
  }

  /** read_lock, with the yield point before it (the race for the lock). */
  *readLock(): Task {
    yield this.readOp;
    const t = this.rt.self();
    if (this.isHeldBy(t)) throw new ModelBug(`${t.name}: recursive read_lock of ${this.name}`);
    if (this.writer === null && this.queue.length === 0) {
      this.grantRead(t, false);
      this.rt.charge(this.acquireNs);
      this.observer?.taken(t.id);
      return;
    }
    yield* this.wait(t, false);
  }

  /** write_lock, with the yield point before it (the race for the lock). */
  *writeLock(): Task {
    yield this.op;
    const t = this.rt.self();
    if (this.isHeldBy(t)) throw new ModelBug(`${t.name}: recursive write_lock of ${this.name}`);
    if (this.writer === null && this.readers === 0 && this.queue.length === 0) {
      this.grantWrite(t, false);
      this.rt.charge(this.acquireNs);
      this.observer?.taken(t.id);
      return;
    }
    yield* this.wait(t, true);
  }

  /** Queues behind the current holders; returns once a release handed us the lock. */
  private *wait(t: Thread, write: boolean): Task {
    this.queue.push({ thread: t, write });
    this.stats.contended++;
    this.observer?.queued(t.id);
    const since = this.rt.now();
    this.rt.block(`${this.name} (${write ? 'write' : 'read'})`);
    // Blocked until a release hands the lock over; the runtime will not resume us before.
    yield write ? this.op : this.readOp;
    if (!this.isHeldBy(t)) throw new ModelBug(`${t.name} woke without ${this.name}`);
    this.stats.waits?.record(this.rt.now() - since);
    this.stats.waitIntervals?.push(since, this.rt.now(), write ? 1 : 0, t.id);
    this.observer?.resumed(t.id, write);
  }

  /** read_unlock, with the yield point before it (a waiter may be handed the lock). */
  *readUnlockY(): Task {
    yield this.readOp;
    this.readUnlock();
  }

  /** write_unlock, with the yield point before it (a waiter may be handed the lock). */
  *writeUnlockY(): Task {
    yield this.op;
    this.writeUnlock();
  }

  readUnlock(): void {
    const t = this.rt.self();
    if (!this.isReadHeldBy(t)) throw new ModelBug(`${t.name}: read_unlock of ${this.name} it does not hold for read`);
    const since = this.readSince[t.id]!;
    this.readSince[t.id] = -1;
    this.readers--;
    if (this.stats.holds) this.stats.holds.push(since, this.rt.now(), 0, t.id);
    this.observer?.released(t.id, false);
    if (this.readers === 0) this.handOver();
  }

  writeUnlock(): void {
    const t = this.rt.self();
    if (this.writer !== t) throw new ModelBug(`${t.name}: write_unlock of ${this.name} held by ${this.writer?.name ?? 'nobody'}`);
    const held = this.rt.now() - this.writeSince;
    if (held > this.stats.writeHoldMaxNs) this.stats.writeHoldMaxNs = held;
    if (this.stats.holds) this.stats.holds.push(this.writeSince, this.rt.now(), 1, t.id);
    this.observer?.released(t.id, true);
    this.writer = null;
    this.handOver();
  }

  /**
   * cond_resched_rwlock_write: if `needbreak` (contention, when the kernel yields
   * on contention) or the slice is used up, drop the lock, let others run, re-take
   * it. Yields true (as its return) when the lock was dropped. `beforeDrop` runs
   * when it has decided to, the lock still held (what the holder did up to the drop).
   */
  *condReschedWrite(yieldOnContention: boolean, beforeDrop?: () => void): Generator<Op, boolean, void> {
    // Contention is sampled here: a fault that queues just after is seen next time.
    yield this.op;
    const t = this.rt.self();
    if (this.writer !== t) throw new ModelBug(`${t.name}: cond_resched on ${this.name} not held for write`);
    if (!((yieldOnContention && this.contended()) || this.shouldResched())) return false;
    beforeDrop?.();
    const from = this.breakBegins();
    this.writeUnlock();
    // Lock dropped: the queued vCPUs are handed mmu_lock before we re-queue.
    yield OP_LOCAL;
    // Race: the threads that run in the break (those handed the lock, and any that
    // come to take it) against our re-taking it: writeLock's yield is the choice.
    yield* this.writeLock();
    this.sliceStart = this.rt.now();
    this.breakEnds(from);
    return true;
  }

  /** cond_resched_rwlock_read, symmetric to condReschedWrite. */
  *condReschedRead(yieldOnContention: boolean): Generator<Op, boolean, void> {
    // Contention is sampled here. Only a queued writer makes it contended (readers
    // queue only behind one), so this commutes with other readers' operations.
    yield this.readOp;
    const t = this.rt.self();
    if (!this.isReadHeldBy(t)) throw new ModelBug(`${t.name}: cond_resched on ${this.name} not held for read`);
    if (!((yieldOnContention && this.contended()) || this.shouldResched())) return false;
    const from = this.breakBegins();
    this.readUnlock();
    // Lock dropped: a queued writer gets it here.
    yield OP_LOCAL;
    yield* this.readLock();
    this.breakEnds(from);
    return true;
  }

  /** Where a lock break begins: [acquisitions so far, time]; counted only on breaks, not on every acquisition. */
  private breakBegins(): [number, number] {
    return [this.stats.readAcquires + this.stats.writeAcquires, this.rt.now()];
  }

  /** The break that began at `from` ended with the holder's re-take (its own acquisition, not counted). */
  private breakEnds(from: [number, number]): void {
    const stats = this.stats;
    const others = Math.max(0, stats.readAcquires + stats.writeAcquires - from[0] - 1);
    const offNs = this.rt.now() - from[1];
    this.lastBreak.others = others;
    this.lastBreak.offNs = offNs;
    if (others > 0) stats.breaksYielded++;
    stats.breakAcquires += others;
    if (offNs > stats.breakOffMaxNs) stats.breakOffMaxNs = offNs;
  }

  /** lockdep_assert_held_write. */
  assertWriteHeld(what: string): void {
    const t = this.rt.self();
    if (this.writer !== t) throw new ModelBug(`${what}: ${t.name} must hold ${this.name} for write`);
  }
  /** lockdep_assert_held (either mode). */
  assertHeld(what: string): void {
    const t = this.rt.self();
    if (!this.isHeldBy(t)) throw new ModelBug(`${what}: ${t.name} must hold ${this.name}`);
  }

  private grantRead(t: Thread, handedOver: boolean): void {
    const since = this.readSince;
    while (since.length <= t.id) since.push(-1);
    since[t.id] = handedOver ? this.rt.now() + this.handoverNs : this.rt.now();
    this.readers++;
    this.stats.readAcquires++;
  }
  private grantWrite(t: Thread, handedOver: boolean): void {
    this.writer = t;
    this.writeSince = handedOver ? this.rt.now() + this.handoverNs : this.rt.now();
    this.sliceStart = this.writeSince;
    this.stats.writeAcquires++;
  }

  /** Gives the free lock to the head of the queue: one writer, or a run of readers. */
  private handOver(): void {
    if (this.writer !== null || this.readers > 0) return;
    const head = this.queue[0];
    if (head === undefined) return;
    const woken: Thread[] = [];
    if (head.write) {
      this.queue.shift();
      this.grantWrite(head.thread, true);
      woken.push(head.thread);
    } else {
      while (this.queue.length > 0 && !this.queue[0]!.write) {
        const w = this.queue.shift()!;
        this.grantRead(w.thread, true);
        woken.push(w.thread);
      }
    }
    for (const w of woken) this.rt.wake(w, this.handoverNs);
  }
}
