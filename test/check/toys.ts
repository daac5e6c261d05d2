/**
 * Small models to test the checker against, each a few lines, built on the
 * runtime's vocabulary only (as the KVM model is): threads yield the op their
 * next step performs; violations go into the instance.
 */
import type { Instance, LogLine, Violation } from '../../src/runtime/instance.js';
import { OP_LOCAL, OP_SPIN, op2, opRead, opWrite, READ } from '../../src/runtime/op.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { newLockStats, RwLock } from '../../src/runtime/rwlock.js';
import type { Task } from '../../src/runtime/thread.js';
import { WaitQueue } from '../../src/runtime/wait-queue.js';
import type { InstanceFactory, InstanceOptions } from '../../src/check/factory.js';

/** A minimal Instance: a runtime, a violation list, an optional log. */
/**
 * Lock statistics shared by every toy lock: creating a LockStats per instance
 * would cost more than running it, and the toys never read them.
 */
const sharedStats = newLockStats();

export class ToyInstance implements Instance {
  readonly rt = new Runtime();
  readonly violations: Violation[] = [];
  readonly log: LogLine[] | null;
  /** What is awaited, for livelock reports. */
  awaiting: () => string | null = () => null;

  constructor(options?: InstanceOptions) {
    this.log = options?.log === true ? [] : null;
  }
  pending(): string | null {
    return this.awaiting();
  }
  finish(): void {}

  /** Logs a line for the running thread. */
  say(text: string): void {
    if (this.log === null) return;
    const t = this.rt.self();
    this.log.push({ step: this.rt.steps, thread: t.id, timeNs: this.rt.now(), text: `${t.name}: ${text}` });
  }

  /** Reports a violation by the running thread. */
  violate(kind: string, message: string): void {
    const t = this.rt.self();
    this.violations.push({ kind, thread: t.name, timeNs: this.rt.now(), step: this.rt.steps, message });
  }
}

/**
 * n threads each increment a shared counter k times with a separate read and
 * write: a lost update when two reads see the same value. With `locked`, the
 * read-modify-write is under a lock and the counter always ends at n·k.
 */
export function counter(n: number, k: number, locked = false): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const c = rt.objects.id('counter');
    const fin = rt.objects.id('finished');
    const lock = new RwLock(rt, 'lock', sharedStats);
    let value = 0;
    let finished = 0;
    for (let i = 0; i < n; i++) {
      rt.spawn(`T${i}`, function* (): Task {
        for (let j = 0; j < k; j++) {
          if (locked) yield* lock.writeLock();
          yield opRead(c);
          const v = value;
          inst.say(`read counter=${v}`);
          yield opWrite(c);
          value = v + 1;
          inst.say(`write counter=${v + 1}`);
          if (locked) yield* lock.writeUnlockY();
        }
        yield opWrite(fin);
        if (++finished === n && value !== n * k) inst.violate('lost-update', `counter is ${value}, expected ${n * k}`);
      });
    }
    return inst;
  };
}

/** Mutants of the seq-count toy. */
export type SeqMutant = 'none' | 'skip-seq-check';

/**
 * The invalidation protocol in miniature, as KVM guards a page fault against a
 * concurrent mmu_notifier invalidation: the fault snapshots the sequence count,
 * looks up the host pfn without the lock, then under the lock retries if an
 * invalidation is in progress or the count moved. The host invalidates the page
 * `invalidations` times (start: in_progress++, zap; replace the pfn; end: seq++,
 * in_progress--). Each of `vcpus` vCPUs faults `faults` times and accesses the
 * page through its SPTE after each fault; an access through an SPTE that maps
 * a pfn the host no longer maps is a 'stale-translation'. The mutant skips the
 * sequence comparison, so a fault that looked up the pfn before an entire
 * invalidation installs the old pfn.
 */
export function seqProtocol(vcpus: number, invalidations: number, faults: number, mutant: SeqMutant = 'none'): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const mmuLock = new RwLock(rt, 'mmu_lock', sharedStats);
    const seqObj = rt.objects.id('mmu_invalidate_seq');
    const ipObj = rt.objects.id('mmu_invalidate_in_progress');
    const hostObj = rt.objects.id('host_pte');
    const spteObj = rt.objects.id('spte');
    let seq = 0;
    let inProgress = 0;
    let hostPfn = 0x10;
    let spte: number | null = null;

    rt.spawn('reclaim', function* (): Task {
      for (let i = 0; i < invalidations; i++) {
        yield* mmuLock.writeLock();
        yield opWrite(ipObj);
        inProgress++;
        yield opWrite(spteObj);
        spte = null;
        inst.say('invalidate_range_start: zap spte');
        yield* mmuLock.writeUnlockY();
        yield opWrite(hostObj);
        hostPfn++;
        inst.say(`host pte -> pfn 0x${hostPfn.toString(16)}`);
        yield* mmuLock.writeLock();
        yield opWrite(seqObj);
        seq++;
        yield opWrite(ipObj);
        inProgress--;
        inst.say(`invalidate_range_end: seq=${seq}`);
        yield* mmuLock.writeUnlockY();
      }
    });

    for (let v = 0; v < vcpus; v++) {
      rt.spawn(`vCPU${v}`, function* (): Task {
        for (let f = 0; f < faults; f++) {
          for (;;) {
            yield opRead(seqObj);
            const snap = seq;
            inst.say(`snapshot mmu_invalidate_seq=${snap}`);
            yield opRead(hostObj);
            const pfn = hostPfn;
            inst.say(`gfn_to_pfn -> 0x${pfn.toString(16)}`);
            yield* mmuLock.writeLock();
            yield op2(READ, ipObj, seqObj);
            const retry = inProgress > 0 || (mutant !== 'skip-seq-check' && seq !== snap);
            if (!retry) {
              yield opWrite(spteObj);
              spte = pfn;
              inst.say(`install spte -> pfn 0x${pfn.toString(16)}`);
              yield* mmuLock.writeUnlockY();
              break;
            }
            inst.say('mmu_invalidate_retry: retry');
            yield* mmuLock.writeUnlockY();
            yield OP_SPIN;
          }
          // The guest access reads the SPTE; the oracle compares with the host pte.
          yield op2(READ, spteObj, hostObj);
          inst.say(`guest access -> pfn ${spte === null ? 'fault' : `0x${spte.toString(16)}`}`);
          if (spte !== null && spte !== hostPfn) {
            inst.violate('stale-translation', `access through spte -> pfn 0x${spte.toString(16)}, host maps 0x${hostPfn.toString(16)}`);
          }
        }
      });
    }
    return inst;
  };
}

/**
 * A lockless pre-check that waits for an invalidation to end. Correct: the flag
 * is re-read on every retry. `plainRead`: read once and kept (no READ_ONCE), so
 * a vCPU that saw the invalidation in progress spins forever: a livelock.
 * `sloppyEnd`: the host clears the flag in a step that announces another
 * object (a model bug the checker must not turn into a false livelock).
 */
export function precheck(plainRead: boolean, sloppyEnd = false): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const ip = rt.objects.id('in_progress');
    const other = rt.objects.id('other');
    let inProgress = 0;
    let vcpuDone = false;
    inst.awaiting = () => (vcpuDone ? null : 'vCPU0 fault completion');
    rt.spawn('host', function* (): Task {
      yield opWrite(ip);
      inProgress = 1;
      inst.say('invalidate_range_start');
      // sloppyEnd: the write is made under an op that does not announce it.
      yield opWrite(sloppyEnd ? other : ip);
      inProgress = 0;
      inst.say('invalidate_range_end');
    });
    rt.spawn('vCPU0', function* (): Task {
      yield opRead(ip);
      let seen = inProgress;
      inst.say(`pre-check in_progress=${seen}`);
      while (seen !== 0) {
        yield OP_SPIN;
        inst.say('retry');
        if (!plainRead) {
          yield opRead(ip);
          seen = inProgress;
          inst.say(`pre-check in_progress=${seen}`);
        } else {
          yield OP_LOCAL;
        }
      }
      vcpuDone = true;
    });
    return inst;
  };
}

/** Two threads take two locks in opposite orders: a deadlock when each gets its first. */
export function abba(): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const a = new RwLock(rt, 'A', sharedStats);
    const b = new RwLock(rt, 'B', sharedStats);
    rt.spawn('T0', function* (): Task {
      yield* a.writeLock();
      yield* b.writeLock();
      yield* b.writeUnlockY();
      yield* a.writeUnlockY();
    });
    rt.spawn('T1', function* (): Task {
      yield* b.writeLock();
      yield* a.writeLock();
      yield* a.writeUnlockY();
      yield* b.writeUnlockY();
    });
    return inst;
  };
}

/**
 * A producer sets a flag and wakes the consumer waiting on a wait queue; with
 * `lostWakeup` the producer forgets the wake-up, so the consumer may sleep forever.
 */
export function waitFlag(lostWakeup: boolean): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const flagObj = rt.objects.id('flag');
    const wq = new WaitQueue(rt, 'flag_wq');
    let flag = false;
    rt.spawn('producer', function* (): Task {
      yield opWrite(flagObj);
      flag = true;
      if (!lostWakeup) wq.wakeAll();
    });
    rt.spawn('consumer', function* (): Task {
      yield opRead(flagObj);
      yield* wq.waitUntil(() => flag, opRead(flagObj));
    });
    return inst;
  };
}

/**
 * A model that draws: each of two threads draws which of `slots` slots to
 * write; the 'collision' violation happens only when both draw the same slot
 * and the writes are unordered. Exercises draw recording and replay.
 */
export function drawing(slots: number): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const owner: (string | null)[] = new Array(slots).fill(null);
    const objs = Array.from({ length: slots }, (_, i) => rt.objects.id(`slot${i}`));
    for (let i = 0; i < 2; i++) {
      rt.spawn(`W${i}`, function* (self): Task {
        yield OP_LOCAL;
        const s = rt.draw(slots);
        inst.say(`picks slot ${s}`);
        yield opRead(objs[s]!);
        const seen = owner[s];
        yield opWrite(objs[s]!);
        if (seen === null && owner[s] !== null) inst.violate('collision', `slot ${s} taken by ${owner[s]} behind ${self.name}'s back`);
        owner[s] = self.name;
      });
    }
    return inst;
  };
}
