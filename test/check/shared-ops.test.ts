import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditFootprints } from '../../src/check/audit.js';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { OP_SPIN, op2, opPair, opRead, opShared, opsConflict, opWrite, READ, SHARED, WRITE } from '../../src/runtime/op.js';
import { newLockStats, RwLock } from '../../src/runtime/rwlock.js';
import type { Task } from '../../src/runtime/thread.js';
import { ToyInstance } from './toys.js';

test('op kinds: SHARED updates commute with each other, not with reads or writes of the object', () => {
  const [a, b] = [3, 9];
  assert.equal(opsConflict(opShared(a), opShared(a)), false);
  assert.equal(opsConflict(opShared(a), opRead(a)), true);
  assert.equal(opsConflict(opRead(a), opShared(a)), true);
  assert.equal(opsConflict(opShared(a), opWrite(a)), true);
  assert.equal(opsConflict(opRead(a), opRead(a)), false);
  assert.equal(opsConflict(opShared(a), opShared(b)), false);
  assert.equal(opsConflict(opShared(a), opWrite(b)), false);
  // A pair with its own kind per object: write a, shared update of b.
  const gate = opPair(WRITE, a, SHARED, b);
  assert.equal(opsConflict(gate, opShared(b)), false);
  assert.equal(opsConflict(gate, opRead(b)), true);
  assert.equal(opsConflict(gate, opRead(a)), true);
  assert.equal(opsConflict(opShared(b), gate), false);
  assert.equal(opsConflict(op2(READ, a, b), gate), true);
  assert.equal(opsConflict(gate, op2(SHARED, 7, b)), false);
});

/**
 * n readers each take a reader-writer lock for read, bump their own counter,
 * and drop it; with `writer`, one more thread takes it for write and checks that
 * no reader is inside (it never is: the lock works).
 */
function readers(n: number, writer: boolean): InstanceFactory {
  const stats = newLockStats();
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const lock = new RwLock(rt, 'lock', stats);
    let inside = 0;
    for (let i = 0; i < n; i++) {
      rt.spawn(`r${i}`, function* (): Task {
        yield* lock.readLock();
        inside++;
        inst.say('in');
        yield lock.readOp;
        inside--;
        lock.readUnlock();
      });
    }
    if (writer) {
      rt.spawn('w', function* (): Task {
        yield* lock.writeLock();
        if (inside !== 0) inst.violate('exclusion', `${inside} readers inside`);
        yield* lock.writeUnlockY();
      });
    }
    return inst;
  };
}

test('read-side lock operations are SHARED: readers alone make one trace, a writer orders them, the audit agrees', () => {
  const alone = explore(readers(3, false), new DfsStrategy({ por: 'dpor' }));
  assert.equal(alone.summary.exhausted, true);
  assert.equal(alone.summary.executions, 1);
  const plain = explore(readers(3, false), new DfsStrategy({ por: 'none' }));
  assert.ok(plain.summary.executions > 1, `${plain.summary.executions}`);

  const withWriter = explore(readers(2, true), new DfsStrategy({ por: 'dpor' }));
  assert.equal(withWriter.summary.exhausted, true);
  assert.equal(withWriter.violation, null);
  // The writer before both readers, after both, or between them (in its two steps' places).
  assert.ok(withWriter.summary.executions > 1);
  const plainW = explore(readers(2, true), new DfsStrategy({ por: 'none' }));
  assert.ok(withWriter.summary.executions < plainW.summary.executions);

  for (const f of [readers(3, false), readers(2, true)]) assert.deepEqual(auditFootprints(f, { executions: 80 }), []);
});

/**
 * Two threads wait for a flag nobody sets; each iteration enters a read-side
 * section (a SHARED update of the lock) and reads the flag. Neither sees anything
 * new from the other's read-side updates, so this is a livelock found at once,
 * not after maxSteps.
 */
function waitersOnSharedLock(): InstanceFactory {
  return (options) => {
    const inst = new ToyInstance(options);
    const rt = inst.rt;
    const lock = rt.objects.id('lock');
    const flag = rt.objects.id('flag');
    inst.awaiting = () => 'the flag';
    for (const name of ['a', 'b']) {
      rt.spawn(name, function* (): Task {
        for (;;) {
          yield opShared(lock);
          yield opRead(flag);
          yield OP_SPIN;
        }
      });
    }
    return inst;
  };
}

test('spin progress: SHARED updates by others do not count as something new for a thread that only updated the object SHARED', () => {
  const r = explore(waitersOnSharedLock(), new DfsStrategy({ por: 'dpor' }), { maxSteps: 5000 });
  assert.equal(r.violation?.kind, 'livelock');
  assert.match(r.violation!.message, /nothing new to see/);
  assert.ok(r.summary.maxDepth < 50, `depth ${r.summary.maxDepth}`);
});
