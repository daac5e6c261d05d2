import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_COSTS } from '../../src/kvm/costs.js';
import { mmuInvalidateBegin, mmuInvalidateEnd, mmuInvalidateRangeAdd, mmuInvalidateRetryGfn, mmuInvalidateRetryGfnUnsafe } from '../../src/kvm/invalidate.js';
import { INVALID_GPA, Kvm } from '../../src/kvm/kvm.js';
import { Memslots } from '../../src/kvm/memslots.js';
import { Mutation } from '../../src/kvm/mutants.js';
import { defaultSettings } from '../../src/kvm/settings.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Task } from '../../src/runtime/thread.js';

/** Runs `body` as a thread holding mmu_lock for write, to completion. */
function withWriteLock(mutant: string | null, body: (kvm: Kvm) => void): Kvm {
  const rt = new Runtime();
  const kvm = new Kvm(rt, defaultSettings(), DEFAULT_COSTS, new Mutation(mutant), new Memslots([], 0));
  rt.spawn('t', function* (): Task {
    yield* kvm.mmuLock.writeLock();
    body(kvm);
    yield* kvm.mmuLock.writeUnlockY();
  });
  while (!rt.allDone()) rt.runStep(rt.runnable()[0]!);
  return kvm;
}

test('invalidate: begin resets the range only when the first invalidation begins; overlapping ones widen the hull', () => {
  withWriteLock(null, (kvm) => {
    mmuInvalidateBegin(kvm);
    assert.equal(kvm.mmuInvalidateRangeStart, INVALID_GPA);
    mmuInvalidateRangeAdd(kvm, 10, 20);
    mmuInvalidateBegin(kvm);
    mmuInvalidateRangeAdd(kvm, 30, 40);
    assert.deepEqual([kvm.mmuInvalidateRangeStart, kvm.mmuInvalidateRangeEnd], [10, 40]);
    assert.equal(kvm.mmuInvalidateInProgress, 2);
    mmuInvalidateEnd(kvm);
    // A gfn covered only by the ended invalidation stays in range until both end.
    assert.equal(mmuInvalidateRetryGfn(kvm, kvm.mmuInvalidateSeq, 15), true);
    mmuInvalidateEnd(kvm);
    assert.equal(kvm.mmuInvalidateInProgress, 0);
    assert.equal(kvm.mmuInvalidateSeq, 2);
    // The stale range is kept but ignored once the count is 0.
    assert.equal(mmuInvalidateRetryGfn(kvm, 2, 15), false);
    mmuInvalidateBegin(kvm);
    assert.equal(kvm.mmuInvalidateRangeStart, INVALID_GPA);
    mmuInvalidateRangeAdd(kvm, 50, 51);
    mmuInvalidateEnd(kvm);
  });
});

test('invalidate: the fault retry decision (in-range, out-of-range, seq moved)', () => {
  withWriteLock(null, (kvm) => {
    const seq = kvm.mmuInvalidateSeq;
    mmuInvalidateBegin(kvm);
    mmuInvalidateRangeAdd(kvm, 100, 200);
    assert.equal(mmuInvalidateRetryGfn(kvm, seq, 150), true, 'inside the in-progress range');
    assert.equal(mmuInvalidateRetryGfn(kvm, seq, 250), false, 'outside it, seq unchanged');
    assert.equal(mmuInvalidateRetryGfnUnsafe(kvm, seq, 150, kvm.mmuInvalidateInProgress), true);
    mmuInvalidateEnd(kvm);
    assert.equal(mmuInvalidateRetryGfn(kvm, seq, 250), true, 'an invalidation completed since the snapshot');
    assert.equal(mmuInvalidateRetryGfn(kvm, kvm.mmuInvalidateSeq, 150), false);
  });
});

test('invalidate: the lockless pre-check is false for the sentinel range (between begin and range_add)', () => {
  withWriteLock(null, (kvm) => {
    mmuInvalidateBegin(kvm);
    assert.equal(mmuInvalidateRetryGfnUnsafe(kvm, kvm.mmuInvalidateSeq, 5, 1), false);
    mmuInvalidateRangeAdd(kvm, 0, 10);
    mmuInvalidateEnd(kvm);
  });
});

test("invalidate: the fault path's mutants drop exactly one half of its check, and only of its check", () => {
  withWriteLock('fault-skip-seq-check', (kvm) => {
    mmuInvalidateBegin(kvm);
    mmuInvalidateRangeAdd(kvm, 0, 10);
    mmuInvalidateEnd(kvm);
    assert.equal(mmuInvalidateRetryGfn(kvm, 0, 5, kvm.mutation.faultRetrySkips), false);
    // The APIC-access reload's check (no skips) is the kernel's.
    assert.equal(mmuInvalidateRetryGfn(kvm, 0, 5), true);
  });
  withWriteLock('fault-skip-range-check', (kvm) => {
    mmuInvalidateBegin(kvm);
    mmuInvalidateRangeAdd(kvm, 0, 10);
    assert.equal(mmuInvalidateRetryGfn(kvm, kvm.mmuInvalidateSeq, 5, kvm.mutation.faultRetrySkips), false);
    assert.equal(mmuInvalidateRetryGfn(kvm, kvm.mmuInvalidateSeq, 5), true);
    mmuInvalidateEnd(kvm);
  });
  withWriteLock(null, (kvm) => assert.deepEqual(kvm.mutation.faultRetrySkips, { range: false, seq: false }));
});

test('invalidate: end without begin is a ModelBug', () => {
  assert.throws(() => withWriteLock(null, (kvm) => mmuInvalidateEnd(kvm)), /went negative/);
});

test('host invalidation: pages not mapped take no step of their own (a 2^20-page range over unmapped memory took 2^20 steps at no virtual cost, and the run was refused as a zero-cost loop)', async () => {
  const { parseScenario } = await import('../../src/scenario/load.js');
  const { runWith } = await import('../report/fixtures.js');
  const s = parseScenario(
    `vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 1048576 }] }
workload: { gfnCount: 64, accesses: 50 }
host:
  populatePages: 64
  invalidations:
    - { kind: reclaim, gfnStart: 0, gfnCount: 1048576, rangePages: 1048576, count: 1 }
stop: { timeNs: 10000000 }
`,
    'wide.yaml',
  );
  const r = runWith(s, []);
  assert.equal(r.metrics.invalidations.completed, 1);
  assert.ok(r.steps < 10_000, `${r.steps} steps`);
});
