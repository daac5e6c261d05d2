/**
 * Small models to test the checker against, each a few lines, built on the
 * runtime's vocabulary only (as the KVM model is): threads yield the op their
 * next step performs; violations go into the instance.
 */

import type { InstanceFactory, InstanceOptions } from '../../src/check/factory.js';
import type { Instance, LogLine, Violation } from '../../src/runtime/instance.js';
import { OP_LOCAL, OP_SPIN, op2, opRead, opWrite, READ } from '../../src/runtime/op.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { newLockStats, RwLock } from '../../src/runtime/rwlock.js';
import type { Task } from '../../src/runtime/thread.js';
import { WaitQueue } from '../../src/runtime/wait-queue.js';

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
    const c: CounterState = {
      inst,
      n,
      k,
      locked,
      c: rt.objects.id('counter'),
      fin: rt.objects.id('finished'),
      lock: new RwLock(rt, 'lock', sharedStats),
      value: 0,
      finished: 0,
    };
    for (let i = 0; i < n; i++) rt.spawn(`T${i}`, () => incrementer(c));
    return inst;
  };
}

interface CounterState {
  inst: ToyInstance;
  n: number;
  k: number;
  locked: boolean;
  c: number;
  fin: number;
  lock: RwLock;
  value: number;
  finished: number;
}

// Thread bodies are top-level generator functions: a generator function
// expression costs microseconds to create, which would dominate a toy's run.
function* incrementer(s: CounterState): Task {
  const inst = s.inst;
  for (let j = 0; j < s.k; j++) {
    if (s.locked) yield* s.lock.writeLock();
    yield opRead(s.c);
    const v = s.value;
    inst.say(`read counter=${v}`);
    yield opWrite(s.c);
    s.value = v + 1;
    inst.say(`write counter=${v + 1}`);
    if (s.locked) yield* s.lock.writeUnlockY();
  }
  yield opWrite(s.fin);
  if (++s.finished === s.n && s.value !== s.n * s.k) inst.violate('lost-update', `counter is ${s.value}, expected ${s.n * s.k}`);
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
    const s: SeqState = {
      inst,
      mutant,
      mmuLock: new RwLock(rt, 'mmu_lock', sharedStats),
      seqObj: rt.objects.id('mmu_invalidate_seq'),
      ipObj: rt.objects.id('mmu_invalidate_in_progress'),
      hostObj: rt.objects.id('host_pte'),
      spteObj: rt.objects.id('spte'),
      seq: 0,
      inProgress: 0,
      hostPfn: 0x10,
      spte: null,
    };
    rt.spawn('reclaim', () => reclaim(s, invalidations));
    for (let v = 0; v < vcpus; v++) rt.spawn(`vCPU${v}`, () => vcpuFaults(s, faults));
    return inst;
  };
}

interface SeqState {
  inst: ToyInstance;
  mutant: SeqMutant;
  mmuLock: RwLock;
  seqObj: number;
  ipObj: number;
  hostObj: number;
  spteObj: number;
  seq: number;
  inProgress: number;
  hostPfn: number;
  spte: number | null;
}

function* reclaim(s: SeqState, invalidations: number): Task {
  const inst = s.inst;
  for (let i = 0; i < invalidations; i++) {
    yield* s.mmuLock.writeLock();
    yield opWrite(s.ipObj);
    s.inProgress++;
    yield opWrite(s.spteObj);
    s.spte = null;
    inst.say('invalidate_range_start: zap spte');
    yield* s.mmuLock.writeUnlockY();
    yield opWrite(s.hostObj);
    s.hostPfn++;
    inst.say(`host pte -> pfn 0x${s.hostPfn.toString(16)}`);
    yield* s.mmuLock.writeLock();
    yield opWrite(s.seqObj);
    s.seq++;
    yield opWrite(s.ipObj);
    s.inProgress--;
    inst.say(`invalidate_range_end: seq=${s.seq}`);
    yield* s.mmuLock.writeUnlockY();
  }
}

function* vcpuFaults(s: SeqState, faults: number): Task {
  const inst = s.inst;
  for (let f = 0; f < faults; f++) {
    for (;;) {
      yield opRead(s.seqObj);
      const snap = s.seq;
      inst.say(`snapshot mmu_invalidate_seq=${snap}`);
      yield opRead(s.hostObj);
      const pfn = s.hostPfn;
      inst.say(`gfn_to_pfn -> 0x${pfn.toString(16)}`);
      yield* s.mmuLock.writeLock();
      yield op2(READ, s.ipObj, s.seqObj);
      const retry = s.inProgress > 0 || (s.mutant !== 'skip-seq-check' && s.seq !== snap);
      if (!retry) {
        yield opWrite(s.spteObj);
        s.spte = pfn;
        inst.say(`install spte -> pfn 0x${pfn.toString(16)}`);
        yield* s.mmuLock.writeUnlockY();
        break;
      }
      inst.say('mmu_invalidate_retry: retry');
      yield* s.mmuLock.writeUnlockY();
      yield OP_SPIN;
    }
    // The guest access reads the SPTE; the oracle compares with the host pte.
    yield op2(READ, s.spteObj, s.hostObj);
    const spte = s.spte;
    inst.say(`guest access -> pfn ${spte === null ? 'fault' : `0x${spte.toString(16)}`}`);
    if (spte !== null && spte !== s.hostPfn) {
      inst.violate('stale-translation', `access through spte -> pfn 0x${spte.toString(16)}, host maps 0x${s.hostPfn.toString(16)}`);
    }
  }
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
    const s: PrecheckState = { inst, ip: rt.objects.id('in_progress'), other: rt.objects.id('other'), inProgress: 0, vcpuDone: false };
    inst.awaiting = () => (s.vcpuDone ? null : 'vCPU0 fault completion');
    rt.spawn('host', () => precheckHost(s, sloppyEnd));
    rt.spawn('vCPU0', () => precheckVcpu(s, plainRead));
    return inst;
  };
}

interface PrecheckState {
  inst: ToyInstance;
  ip: number;
  other: number;
  inProgress: number;
  vcpuDone: boolean;
}

function* precheckHost(s: PrecheckState, sloppyEnd: boolean): Task {
  yield opWrite(s.ip);
  s.inProgress = 1;
  s.inst.say('invalidate_range_start');
  // sloppyEnd: the write is made under an op that does not announce it.
  yield opWrite(sloppyEnd ? s.other : s.ip);
  s.inProgress = 0;
  s.inst.say('invalidate_range_end');
}

function* precheckVcpu(s: PrecheckState, plainRead: boolean): Task {
  yield opRead(s.ip);
  let seen = s.inProgress;
  s.inst.say(`pre-check in_progress=${seen}`);
  while (seen !== 0) {
    yield OP_SPIN;
    s.inst.say('retry');
    if (!plainRead) {
      yield opRead(s.ip);
      seen = s.inProgress;
      s.inst.say(`pre-check in_progress=${seen}`);
    } else {
      yield OP_LOCAL;
    }
  }
  s.vcpuDone = true;
}

/** Two threads take two locks in opposite orders: a deadlock when each gets its first. */
export function abba(): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const a = new RwLock(rt, 'A', sharedStats);
    const b = new RwLock(rt, 'B', sharedStats);
    rt.spawn('T0', () => lockBoth(a, b));
    rt.spawn('T1', () => lockBoth(b, a));
    return inst;
  };
}

function* lockBoth(first: RwLock, second: RwLock): Task {
  yield* first.writeLock();
  yield* second.writeLock();
  yield* second.writeUnlockY();
  yield* first.writeUnlockY();
}

/**
 * A producer sets a flag and wakes the consumer waiting on a wait queue; with
 * `lostWakeup` the producer forgets the wake-up, so the consumer may sleep forever.
 */
export function waitFlag(lostWakeup: boolean): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const s: FlagState = { flagObj: rt.objects.id('flag'), wq: new WaitQueue(rt, 'flag_wq'), flag: false };
    rt.spawn('producer', () => producer(s, lostWakeup));
    rt.spawn('consumer', () => consumer(s));
    return inst;
  };
}

interface FlagState {
  flagObj: number;
  wq: WaitQueue;
  flag: boolean;
}

function* producer(s: FlagState, lostWakeup: boolean): Task {
  yield opWrite(s.flagObj);
  s.flag = true;
  if (!lostWakeup) s.wq.wakeAll();
}

function* consumer(s: FlagState): Task {
  yield opRead(s.flagObj);
  yield* s.wq.waitUntil(() => s.flag, opRead(s.flagObj));
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
    const s: DrawState = { inst, slots, owner: new Array(slots).fill(null), objs: Array.from({ length: slots }, (_, i) => rt.objects.id(`slot${i}`)) };
    for (let i = 0; i < 2; i++) rt.spawn(`W${i}`, (self) => writer(s, self.name));
    return inst;
  };
}

interface DrawState {
  inst: ToyInstance;
  slots: number;
  owner: (string | null)[];
  objs: number[];
}

function* writer(s: DrawState, name: string): Task {
  yield OP_LOCAL;
  const k = s.inst.rt.draw(s.slots);
  s.inst.say(`picks slot ${k}`);
  yield opRead(s.objs[k]);
  const seen = s.owner[k];
  yield opWrite(s.objs[k]);
  if (seen === null && s.owner[k] !== null) s.inst.violate('collision', `slot ${k} taken by ${s.owner[k]} behind ${name}'s back`);
  s.owner[k] = name;
}

/**
 * n threads each bump their own slot of one array, announcing a write of the
 * whole array: their steps commute, but the announcements say they conflict
 * (a footprint coarser than the step, which costs the DFS every order).
 */
export function perThreadSlots(n: number): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const s: SlotsState = { inst, obj: inst.rt.objects.id('slots'), slots: new Array<number>(n).fill(0) };
    for (let i = 0; i < n; i++) inst.rt.spawn(`T${i}`, () => bumpSlot(s, i));
    return inst;
  };
}

interface SlotsState {
  inst: ToyInstance;
  obj: number;
  slots: number[];
}

function* bumpSlot(s: SlotsState, i: number): Task {
  yield opWrite(s.obj);
  s.slots[i]++;
  s.inst.say(`slot ${i} = ${s.slots[i]}`);
}

/** n threads each write an object of their own once: every order is the same trace. */
export function ownObjects(n: number): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    for (let i = 0; i < n; i++) {
      const obj = inst.rt.objects.id(`own${i}`);
      inst.rt.spawn(`T${i}`, () => writeOwn(obj));
    }
    return inst;
  };
}

function* writeOwn(obj: number): Task {
  yield opWrite(obj);
}

/**
 * `waiters` threads each retry until a shared value reaches `target`: an
 * iteration reads it, then reads an unrelated object (so that a write of the
 * value can fall on either side of the spin that follows), and spins. Another
 * thread raises the value one step at a time, writing an object of its own
 * between raises. For the fair-spin rules' stuck test, whose verdict depends
 * on whether a write came before or after a spin.
 */
export function raiseAndWait(waiters: number, target: number): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const s: RaiseState = { value: 0, obj: rt.objects.id('value'), other: rt.objects.id('other'), own: rt.objects.id('raiser') };
    for (let a = 0; a < waiters; a++) rt.spawn(`waiter${a}`, () => waitFor(s, target));
    rt.spawn('raiser', () => raise(s, target));
    return inst;
  };
}

interface RaiseState {
  value: number;
  obj: number;
  other: number;
  own: number;
}

function* waitFor(s: RaiseState, target: number): Task {
  for (;;) {
    yield opRead(s.obj);
    const v = s.value;
    yield opRead(s.other);
    if (v === target) return;
    yield OP_SPIN;
  }
}

function* raise(s: RaiseState, target: number): Task {
  while (s.value < target) {
    yield opWrite(s.obj);
    s.value++;
    yield opWrite(s.own);
  }
}

/**
 * A busy thread makes `steps` steps of real work (writes, no retry) while the
 * host has a little awaited work of its own: a schedule that runs the busy
 * thread on and on starves the host, which is unfair, not a livelock.
 */
export function busyAndHost(steps: number): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const work = rt.objects.id('work');
    const done = rt.objects.id('host_done');
    let hostDone = false;
    inst.awaiting = () => (hostDone ? null : 'host work');
    rt.spawn('busy', function* (): Task {
      for (let i = 0; i < steps; i++) yield opWrite(work);
    });
    rt.spawn('host', function* (): Task {
      yield opWrite(done);
      hostDone = true;
    });
    return inst;
  };
}
