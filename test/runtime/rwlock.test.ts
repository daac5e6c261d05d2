import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OP_LOCAL } from '../../src/runtime/op.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { RwLock } from '../../src/runtime/rwlock.js';
import type { Task, Thread } from '../../src/runtime/thread.js';

/** Steps threads in the given order of names until all are done (round-robin among runnable when the order runs out). */
function runInOrder(rt: Runtime, order: string[]): void {
  const byName = new Map(rt.threads.map((t) => [t.name, t] as [string, Thread]));
  for (const n of order) {
    const t = byName.get(n)!;
    if (t.state === 'runnable') rt.runStep(t);
  }
  for (let guard = 0; guard < 1000 && !rt.allDone(); guard++) {
    const r = rt.runnable();
    if (r.length === 0) throw new Error('deadlock');
    rt.runStep(r[0]!);
  }
}

test('rwlock: a release hands the lock to waiters in FIFO order, readers batched', () => {
  const rt = new Runtime();
  const lock = new RwLock(rt, 'mmu_lock');
  const got: string[] = [];
  function* writer(name: string): Task {
    yield* lock.writeLock();
    got.push(name);
    yield OP_LOCAL;
    yield* lock.writeUnlockY();
  }
  function* reader(name: string): Task {
    yield* lock.readLock();
    got.push(name);
    yield OP_LOCAL;
    yield* lock.readUnlockY();
  }
  rt.spawn('w0', () => writer('w0'));
  rt.spawn('r1', () => reader('r1'));
  rt.spawn('w2', () => writer('w2'));
  rt.spawn('r3', () => reader('r3'));
  rt.spawn('r4', () => reader('r4'));
  // w0 takes the lock; everyone else queues in order r1, w2, r3, r4.
  runInOrder(rt, ['w0', 'w0', 'r1', 'r1', 'w2', 'w2', 'r3', 'r3', 'r4', 'r4']);
  assert.deepEqual(got, ['w0', 'r1', 'w2', 'r3', 'r4']);
  assert.equal(lock.stats.writeAcquires, 2);
  assert.equal(lock.stats.readAcquires, 3);
  assert.equal(lock.stats.contended, 4);
});

test('rwlock: a newcomer reader queues behind a waiting writer (fairness)', () => {
  const rt = new Runtime();
  const lock = new RwLock(rt, 'l');
  const got: string[] = [];
  function* reader(name: string, hold: number): Task {
    yield* lock.readLock();
    got.push(name);
    for (let i = 0; i < hold; i++) yield OP_LOCAL;
    yield* lock.readUnlockY();
  }
  function* writer(): Task {
    yield* lock.writeLock();
    got.push('w');
    yield* lock.writeUnlockY();
  }
  rt.spawn('r0', () => reader('r0', 3));
  rt.spawn('w', () => writer());
  rt.spawn('r1', () => reader('r1', 0));
  runInOrder(rt, ['r0', 'r0', 'w', 'w', 'r1', 'r1']);
  assert.deepEqual(got, ['r0', 'w', 'r1']);
});

test('rwlock: needbreak (contended) is true exactly while someone waits; condReschedWrite drops and re-takes', () => {
  const rt = new Runtime();
  const lock = new RwLock(rt, 'l');
  const seen: boolean[] = [];
  let dropped = false;
  function* holder(): Task {
    yield* lock.writeLock();
    seen.push(lock.contended());
    yield OP_LOCAL;
    seen.push(lock.contended());
    dropped = yield* lock.condReschedWrite(true);
    seen.push(lock.contended());
    yield* lock.writeUnlockY();
  }
  function* waiter(): Task {
    yield* lock.readLock();
    yield* lock.readUnlockY();
  }
  rt.spawn('h', () => holder());
  rt.spawn('v', () => waiter());
  runInOrder(rt, ['h', 'h', 'v', 'v', 'h']);
  assert.deepEqual(seen, [false, true, false]);
  assert.equal(dropped, true);
});

test('rwlock: misuse is a ModelBug (unlock by a non-owner, recursion)', () => {
  const rt = new Runtime();
  const lock = new RwLock(rt, 'l');
  function* bad(): Task {
    yield* lock.readLock();
    yield* lock.readLock();
  }
  rt.spawn('b', () => bad());
  assert.throws(() => runInOrder(rt, ['b', 'b', 'b']), /recursive read_lock/);
  const rt2 = new Runtime();
  const l2 = new RwLock(rt2, 'l');
  rt2.spawn('x', function* (): Task {
    yield OP_LOCAL;
    l2.writeUnlock();
  });
  assert.throws(() => runInOrder(rt2, ['x', 'x']), /write_unlock of l held by nobody/);
});

test('rwlock: a hand-over charges its cost to the woken thread before the driver hears of the wake-up', () => {
  const rt = new Runtime();
  const lock = new RwLock(rt, 'mmu_lock');
  lock.handoverNs = 50;
  const seen: [string, number][] = [];
  rt.driver = { draw: () => 0, woke: (t) => seen.push([t.name, t.readyAt]) };
  function* holder(): Task {
    yield* lock.writeLock();
    rt.charge(100);
    yield OP_LOCAL;
    yield* lock.writeUnlockY();
  }
  function* waiter(): Task {
    yield* lock.writeLock();
    yield* lock.writeUnlockY();
  }
  rt.spawn('a', holder);
  rt.spawn('b', waiter);
  runInOrder(rt, ['a', 'b', 'a', 'b', 'a', 'a']);
  // b is woken by a's unlock, at a's time (100 ns in), plus the hand-over: a run
  // queue keyed by readyAt must see 150 at once, not 100 then a later change.
  assert.deepEqual(seen, [['b', 150]]);
});

test('rwlock (regression): a reader that rescheduled starts a new time slice; before, it counted from the last writer and yielded at every test', () => {
  const rt = new Runtime();
  const lock = new RwLock(rt, 'mmu_lock');
  lock.timesliceNs = 100;
  const seen: boolean[] = [];
  function* writer(): Task {
    yield* lock.writeLock();
    yield* lock.writeUnlockY();
  }
  function* reader(): Task {
    yield OP_LOCAL;
    yield* lock.readLock();
    for (let i = 0; i < 6; i++) {
      rt.charge(40);
      yield OP_LOCAL;
      seen.push(lock.shouldResched());
      if (seen.at(-1)) yield* lock.condReschedRead(false);
    }
    yield* lock.readUnlockY();
  }
  rt.spawn('w', writer);
  rt.spawn('r', reader);
  runInOrder(rt, ['w', 'w', 'w']);
  runInOrder(rt, []);
  // 40 ns a test, a slice of 100: due at the third test of each slice, not at every test after the first.
  assert.deepEqual(seen, [false, false, true, false, false, true]);
});
