import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enableAndCopy, harvestAndCopy } from '../../src/kvm/dirty-log-migration.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import type { Settings } from '../../src/kvm/settings.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { assertLostAtEnd, fastFixThenWrite, runOn } from './fast-fix-harness.js';
import { runAlone, underMmuLock } from './shadow-harness.js';

/** dirty-log-mini's TDP world, its migration thread never stepping (the test drives the ioctl). */
function world(over: Partial<Settings> = {}, mutant: string | null = null) {
  const s = loadScenario('dirty-log-mini');
  const inst = createInstance(s, { settings: effectiveSettings(s, over), mutant, log: false, metrics: false });
  return { inst, kvm: inst.kvm, log: inst.kvm.dirtyLog! };
}

/** The fast path's events and the marks, as lines. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'fastPfGetSpte') this.lines.push(`read pfn ${ev.pfn} ${ev.writable ? 'rw' : 'ro'}`);
    if (ev.e === 'fastPfCmpxchg') this.lines.push(`cmpxchg ${ev.ok ? 'ok' : 'failed'}`);
    if (ev.e === 'fastPageFault') this.lines.push(`fast_page_fault ${ev.ret}`);
    if (ev.e === 'markPageDirty') this.lines.push(`mark gfn ${ev.gfn}${ev.fast ? ' fast' : ''}`);
  }
}

/** Maps gfn 0 writable, enables logging (the leaf write-protected), then takes the write fault on the present leaf. */
function writeFaultOnProtectedLeaf(over: Partial<Settings>) {
  const { inst, kvm, log } = world(over);
  const v = kvm.vcpus[0]!;
  runAlone(inst, function* () {
    yield* kvm.mmu.reloadRoot(v);
    assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
  });
  runAlone(inst, () => enableAndCopy(kvm, log));
  assert.equal(kvm.mmu.walk(v, 0, true), -1, 'write-protected');
  const lines = new Log();
  kvm.subscribe(lines);
  const reads = kvm.mmuLock.stats.readAcquires;
  let ret = '';
  runAlone(inst, function* () {
    ret = yield* kvmMmuPageFault(v, 0, true, true);
  });
  return { inst, kvm, log, v, ret, lines: lines.lines, readLocks: kvm.mmuLock.stats.readAcquires - reads };
}

test('fastPageFault=on: a write to a leaf dirty logging write-protected is fixed by fast_page_fault, without mmu_lock: the lockless read, the cmpxchg, then mark_page_dirty_in_slot', () => {
  const { inst, kvm, log, v, ret, lines, readLocks } = writeFaultOnProtectedLeaf({});
  assert.equal(ret, 'fixed');
  assert.equal(readLocks, 0, 'no mmu_lock taken');
  assert.deepEqual(lines, ['read pfn 4096 ro', 'cmpxchg ok', 'mark gfn 0 fast', 'fast_page_fault fixed']);
  assert.ok(kvm.mmu.walk(v, 0, true) >= 0, 'writable again');
  assert.deepEqual([...log.bitmap], [0]);
  assert.deepEqual(inst.violations, []);
});

test('fastPageFault=on: the same fault again finds the leaf writable: RET_PF_SPURIOUS, no second cmpxchg', () => {
  const { inst, kvm, v } = writeFaultOnProtectedLeaf({});
  const lines = new Log();
  kvm.subscribe(lines);
  runAlone(inst, function* () {
    assert.equal(yield* kvmMmuPageFault(v, 0, true, true), 'spurious');
  });
  assert.deepEqual(lines.lines, ['read pfn 4096 rw', 'fast_page_fault spurious']);
});

test('fastPageFault=off: the slow path (pfn lookup, mmu_lock for read, make_spte marks) and no fast_page_fault event', () => {
  const { log, ret, lines, readLocks } = writeFaultOnProtectedLeaf({ fastPageFault: 'off' });
  assert.equal(ret, 'fixed');
  assert.equal(readLocks, 1);
  assert.deepEqual(lines, ['mark gfn 0']);
  assert.deepEqual([...log.bitmap], [0]);
});

test('a write fault on a leaf not present never takes the fast path (page_fault_can_be_fast: with A/D bits only a present SPTE)', () => {
  const { inst, kvm } = world();
  const v = kvm.vcpus[0]!;
  const lines = new Log();
  kvm.subscribe(lines);
  runAlone(inst, function* () {
    yield* kvm.mmu.reloadRoot(v);
    assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
  });
  assert.deepEqual(lines.lines, []);
});

test('run dirty-log-mini (seed 1): faults.fast counts the fast path in fixed and spurious, the identity holds; fastPageFault=off gives the slow path (fast 0, two more read locks)', () => {
  const s = loadScenario('dirty-log-mini');
  const on = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 });
  const off = simulate(s, { settings: effectiveSettings(s, { fastPageFault: 'off' }), mutant: null, seed: 1 });
  for (const r of [on, off]) {
    const f = r.metrics.faults;
    assert.equal(f.total, f.fixed + f.spurious + f.emulated + f.retries + f.injectedPf + f.inFlight);
    assert.ok(f.fast! <= f.fixed + f.spurious);
    assert.deepEqual(r.violations, []);
  }
  assert.equal(on.metrics.faults.fast, 2);
  assert.equal(off.metrics.faults.fast, 0);
  // The slow path's counts, as before the fast path was modelled (base commit 1b4463a).
  assert.deepEqual([off.metrics.faults.total, off.metrics.faults.fixed, off.metrics.faults.spurious, off.metrics.mmuLock.readAcquires], [4, 2, 2, 7]);
  assert.equal(on.metrics.mmuLock.readAcquires, 5);
  assert.deepEqual(on.metrics.dirtyLog, off.metrics.dirtyLog);
  const other = loadScenario('fault-vs-invalidation-mini');
  assert.equal('fast' in simulate(other, { settings: effectiveSettings(other), mutant: null, seed: 1 }).metrics.faults, false);
});

/**
 * The prologue of the races driven by hand: both vCPUs have a root, vCPU0's
 * write fault mapped gfn 0, and logging was enabled (the leaf write-protected,
 * every TLB flushed); then a step log is attached.
 */
function writeProtectedLeaf(mutant: string | null) {
  const { inst, kvm, log } = world({}, mutant);
  const v = kvm.vcpus[0]!;
  const other = kvm.vcpus[1]!;
  runAlone(inst, function* () {
    yield* kvm.mmu.reloadRoot(v);
    yield* kvm.mmu.reloadRoot(other);
    assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
  });
  runAlone(inst, () => enableAndCopy(kvm, log));
  const lines = new Log();
  kvm.subscribe(lines);
  return { inst, kvm, log, v, other, lines };
}

/**
 * The races the cmpxchg exists for, driven by hand: the fast path reads the
 * write-protected leaf, then a zap (an mmu_notifier invalidation's, under the
 * write lock) clears it, or vCPU1's own fast path fixes it; then vCPU0 goes on.
 */
function betweenReadAndCmpxchg(mutant: string | null, between: 'zap' | 'fix' = 'zap') {
  const { inst, kvm, v, other, lines } = writeProtectedLeaf(mutant);
  let ret = '';
  const t = inst.rt.spawn('fault', function* () {
    ret = yield* kvmMmuPageFault(v, 0, true, true);
  });
  for (let n = 0; !lines.lines.includes('read pfn 4096 ro'); n++) {
    assert.ok(n < 1000 && t.state === 'runnable', 'the fast path never read the leaf');
    inst.rt.runStep(t);
  }
  if (between === 'zap') {
    underMmuLock(inst, function* () {
      yield* kvm.mmu.unmapGfnRange(0, 1, false);
    });
    lines.lines.push('zap');
  } else {
    lines.lines.push('vCPU1:');
    runAlone(inst, function* () {
      assert.equal(yield* kvmMmuPageFault(other, 0, true, true), 'fixed');
    });
    lines.lines.push('vCPU0:');
  }
  runOn(inst, t);
  return { inst, kvm, v, ret, lines: lines.lines };
}

test('a zap between the lockless read and the cmpxchg: the cmpxchg fails, the re-read finds no leaf, the fault takes the slow path (RET_PF_INVALID) and maps the page under mmu_lock', () => {
  const { inst, ret, lines } = betweenReadAndCmpxchg(null);
  assert.equal(ret, 'fixed');
  assert.deepEqual(lines, ['read pfn 4096 ro', 'zap', 'cmpxchg failed', 'read pfn -1 ro', 'fast_page_fault invalid', 'mark gfn 0']);
  assert.deepEqual(inst.violations, []);
});

test('regression, fast-pf-plain-write: the same zap is undone by the plain store, and the leaf is back (the mutant acted)', () => {
  const { kvm, v, ret, lines } = betweenReadAndCmpxchg('fast-pf-plain-write');
  assert.equal(ret, 'fixed');
  assert.deepEqual(lines, ['read pfn 4096 ro', 'zap', 'cmpxchg ok', 'mark gfn 0 fast', 'fast_page_fault fixed']);
  assert.equal(kvm.mmu.walk(v, 0, true), 4096, 'the zapped leaf is back, writable');
  assert.equal(kvm.mutation.acted, 1);
});

test("another vCPU's fix between the read and the cmpxchg: the cmpxchg fails, the re-read finds the leaf writable: RET_PF_SPURIOUS, one mark in all", () => {
  const { inst, ret, lines } = betweenReadAndCmpxchg(null, 'fix');
  assert.equal(ret, 'spurious');
  assert.deepEqual(lines, [
    'read pfn 4096 ro',
    'vCPU1:',
    'read pfn 4096 ro',
    'cmpxchg ok',
    'mark gfn 0 fast',
    'fast_page_fault fixed',
    'vCPU0:',
    'cmpxchg failed',
    'read pfn 4096 rw',
    'fast_page_fault spurious',
  ]);
  assert.deepEqual(inst.violations, []);
});

/**
 * The window mark_page_dirty_in_slot's own step opens, driven by hand: vCPU0's
 * fast path makes the leaf writable (the cmpxchg), then vCPU1 writes through the
 * writable SPTE, then a harvest takes the bitmap word (without the bit: nothing
 * reported, nothing write-protected) and the VMM copies what it reported, then
 * vCPU0 goes on (its mark, unless the mutant skipped it). The end of the run
 * judges lost-dirty-write.
 */
function writeInMarkWindow(mutant: string | null) {
  const { inst, kvm, log, v, other, lines } = writeProtectedLeaf(mutant);
  kvm.subscribe({
    on(ev: KvmEvent) {
      if (ev.e === 'dirtyLogHarvest' && ev.phase === 'returned') lines.lines.push(`harvest #${ev.n} [${ev.gfns.join(',')}]`);
      if (ev.e === 'dirtyLogCopy') lines.lines.push(`copy gfn ${ev.gfn}`);
    },
  });
  // vCPU1's write through the SPTE vCPU0's cmpxchg just made writable.
  const t = fastFixThenWrite(inst, lines.lines, { v, gfn: 0, fixed: 'cmpxchg ok' }, other, 'vCPU1 writes');
  runAlone(inst, () => harvestAndCopy(kvm, log, 1));
  lines.lines.push('vCPU0:');
  runOn(inst, t);
  assert.equal(t.state, 'done');
  return { inst, kvm, log, lines: lines.lines };
}

test("a write by vCPU1 between vCPU0's cmpxchg and its mark, a harvest between them too: the mark lands after, the next harvest reports the page, no write lost at the end", () => {
  const { inst, kvm, log, lines } = writeInMarkWindow(null);
  assert.deepEqual(lines, ['read pfn 4096 ro', 'cmpxchg ok', 'vCPU1 writes', 'harvest #1 []', 'vCPU0:', 'mark gfn 0 fast', 'fast_page_fault fixed']);
  assert.deepEqual([...log.bitmap], [0], 'the bit the harvest missed is set: the next harvest reports it');
  inst.finish();
  assert.deepEqual(inst.violations, []);
  // And the next harvest does report it, and the VMM copies it.
  runAlone(inst, () => harvestAndCopy(kvm, log, 2));
  assert.deepEqual(lines.slice(-2), ['harvest #2 [0]', 'copy gfn 0']);
  inst.finish();
  assert.deepEqual(inst.violations, []);
});

test("regression, fast-pf-no-mark-dirty: the same window without the mark: at the end, vCPU1's write is lost (lost-dirty-write names it)", () => {
  const { inst, kvm, log, lines } = writeInMarkWindow('fast-pf-no-mark-dirty');
  // Without the mark the fix ends in the cmpxchg's step.
  assert.deepEqual(lines, ['read pfn 4096 ro', 'cmpxchg ok', 'fast_page_fault fixed', 'vCPU1 writes', 'harvest #1 []', 'vCPU0:']);
  assert.equal(kvm.mutation.acted, 1);
  assert.deepEqual([...log.bitmap], []);
  assert.deepEqual(inst.violations, [], 'nothing judged before the end');
  assertLostAtEnd(
    inst,
    'vCPU1',
    /^vCPU1 wrote gfn 0x0 through its SPTEs and reached pfn 0x1000 without a fault at [\d.]+(?:ns|µs|ms), the VMM's last copy of the page coming before it \(after KVM_SET_USER_MEMORY_REGION enabled KVM_MEM_LOG_DIRTY_PAGES\), and by the end gfn 0x0's dirty bit is clear, with no copy or mark of it still to come: no harvest will report this write, and the migrated copy lacks it$/,
  );
});
