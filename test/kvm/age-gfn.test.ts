import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvmMmuNotifierClearFlushYoung } from '../../src/kvm/age-gfn.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import type { Settings } from '../../src/kvm/settings.js';
import { READ, WRITE } from '../../src/runtime/op.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { agingWorld, mappedLeafWorld } from './aging-harness.js';
import { runAlone, underMmuLock } from './shadow-harness.js';

function world(over: Partial<Settings> = {}, mutant: string | null = null) {
  return agingWorld('age-vs-numa-mini', over, mutant);
}

/** Aging's events as lines. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'ageSpteRead') this.lines.push(`read pfn ${ev.pfn} ${ev.young ? 'young' : 'old'}`);
    if (ev.e === 'ageSpte') this.lines.push(`clear ${ev.curPfn < 0 ? 'not present' : `pfn ${ev.curPfn}`}${ev.plain ? ' plain' : ''}`);
  }
}

/** Both vCPUs have a root and vCPU0's write fault mapped gfn 0 (make_spte sets the A bit); a log is attached. */
function mappedLeaf(over: Partial<Settings> = {}, mutant: string | null = null) {
  return mappedLeafWorld('age-vs-numa-mini', new Log(), over, mutant);
}

/** clear_flush_young on gfn 0's page, alone; whether it found the page young. */
function age(w: Pick<ReturnType<typeof mappedLeaf>, 'inst' | 'kvm' | 'hva'>): boolean {
  let young = false;
  runAlone(w.inst, function* () {
    young = yield* kvmMmuNotifierClearFlushYoung(w.kvm, w.hva, w.hva + 1);
  });
  return young;
}

test('kvm_age_gfn: the leaf a fault installed is young, its A bit cleared; aged again it is old; a walk (a TLB miss) sets it again, a TLB hit does not', () => {
  const w = mappedLeaf();
  assert.equal(age(w), true);
  assert.equal(age(w), false);
  assert.deepEqual(w.log.lines, ['read pfn 4096 young', 'clear pfn 4096', 'read pfn 4096 old']);
  // The guest's walk (its TLB flushed: no entry) sets the A bit.
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), 4096);
  assert.equal(age(w), true);
  // clear_flush_young flushes no TLB on x86 (KVM_ELIDE_TLB_FLUSH_IF_YOUNG): nothing asked of the vCPUs.
  assert.equal(w.v.requests, 0);
  assert.deepEqual(w.inst.violations, []);
});

test('mmuAging: lockless takes no mmu_lock; mmu-lock takes it for write around the walk, read and clear in one step', () => {
  for (const [mode, writes] of [
    ['lockless', 0],
    ['mmu-lock', 1],
  ] as const) {
    const w = mappedLeaf({ mmuAging: mode });
    const before = w.kvm.mmuLock.stats.writeAcquires;
    const steps = w.inst.rt.steps;
    assert.equal(age(w), true);
    assert.equal(w.kvm.mmuLock.stats.writeAcquires - before, writes, mode);
    // lockless: SRCU, the read, the atomic AND, SRCU's end; mmu-lock: SRCU, lock, read-and-clear, unlock.
    assert.ok(w.inst.rt.steps - steps >= 4, mode);
  }
});

/**
 * The race the atomic AND exists for, driven by hand: the lockless walk reads
 * the young leaf, then a notifier's zap (under the write lock) clears it, then
 * the aging goes on to its clear.
 */
function zapBetweenReadAndClear(mutant: string | null) {
  const w = mappedLeaf({}, mutant);
  let young = false;
  const t = w.inst.rt.spawn('age', function* () {
    young = yield* kvmMmuNotifierClearFlushYoung(w.kvm, w.hva, w.hva + 1);
  });
  for (let n = 0; !w.log.lines.includes('read pfn 4096 young'); n++) {
    assert.ok(n < 1000 && t.state === 'runnable', 'the aging never read the leaf');
    w.inst.rt.runStep(t);
  }
  underMmuLock(w.inst, function* () {
    yield* w.kvm.mmu.unmapGfnRange(0, 1, false);
  });
  w.log.lines.push('zap');
  for (let n = 0; t.state === 'runnable'; n++) {
    assert.ok(n < 1000);
    w.inst.rt.runStep(t);
  }
  return { ...w, young };
}

test('a zap between the lockless read and the clear: the atomic AND finds the leaf gone and leaves it so; the page was young', () => {
  const { kvm, v, young, log, inst } = zapBetweenReadAndClear(null);
  assert.equal(young, true);
  assert.deepEqual(log.lines, ['read pfn 4096 young', 'zap', 'clear not present']);
  assert.equal(kvm.mmu.walk(v, 0), -1, 'still zapped');
  assert.equal(kvm.mutation.acted, 0);
  assert.deepEqual(inst.violations, []);
});

test('regression, age-plain-clear: the same zap is undone by the plain store of the value read less the A bit: the leaf maps pfn 0x1000 again (the mutant acted)', () => {
  const { kvm, v, log } = zapBetweenReadAndClear('age-plain-clear');
  assert.deepEqual(log.lines, ['read pfn 4096 young', 'zap', 'clear not present plain']);
  assert.equal(kvm.mmu.walk(v, 0), 4096, 'the zapped leaf is back');
  assert.equal(kvm.mutation.acted, 1);
});

test('age-plain-clear under mmuAging=mmu-lock: the zap cannot come between (the write lock), the mutant never acts', () => {
  const w = mappedLeaf({ mmuAging: 'mmu-lock' }, 'age-plain-clear');
  assert.equal(age(w), true);
  assert.equal(w.kvm.mutation.acted, 0);
});

/** Under shadow paging: vCPU0's own thread steps alone until its first access through the SPTEs (its guest's tables built, gfn 0 faulted in). */
function shadowMappedLeaf(mode: Settings['mmuAging']) {
  const w = world({ mmu: 'shadow', mmuAging: mode });
  const v = w.kvm.vcpus[0]!;
  let through = false;
  w.kvm.subscribe({
    on(ev: KvmEvent) {
      if (ev.e === 'guestAccess' && ev.vcpu === 0 && ev.gfn === 0 && ev.via === 'spte') through = true;
    },
  });
  for (let n = 0; !through; n++) {
    assert.ok(n < 10_000 && v.thread.state === 'runnable', 'vCPU0 never reached gfn 0');
    w.inst.rt.runStep(v.thread);
  }
  const log = new Log();
  w.kvm.subscribe(log);
  return { ...w, v, log };
}

test('shadow paging: kvm_rmap_age_gfn_range takes no mmu_lock with mmuAging=lockless (the rmap lock, one step per gfn announcing the shadow tables written), and runs under the write lock with mmu-lock: the leaf the guest reached is young, then old, young again after a walk', () => {
  for (const [mode, writes] of [
    ['lockless', 0],
    ['mmu-lock', 2],
  ] as const) {
    const w = shadowMappedLeaf(mode);
    const before = w.kvm.mmuLock.stats.writeAcquires;
    assert.equal(age(w), true, mode);
    assert.equal(age(w), false, mode);
    assert.equal(w.kvm.mmuLock.stats.writeAcquires - before, writes, mode);
    assert.deepEqual(w.log.lines, ['read pfn 4096 young', 'clear pfn 4096', 'read pfn 4096 old'], mode);
    assert.ok(w.kvm.mmu.walk(w.v, 0) >= 0);
    assert.equal(age(w), true, mode);
    assert.deepEqual(w.inst.violations, []);
  }
});

test('software reads set no A bit: handle_mmio_page_fault-style and trace walks (hardware false); a hardware walk sets it before the write check, in both MMUs', () => {
  for (const mmu of ['tdp', 'shadow'] as const) {
    const w = mmu === 'tdp' ? mappedLeaf() : shadowMappedLeaf('lockless');
    assert.equal(age(w), true, mmu);
    assert.ok(w.kvm.mmu.walk(w.v, 0, false, false) >= 0, mmu);
    assert.equal(age(w), false, `${mmu}: a software read leaves the A bit clear`);
  }
  // The TDP write-protect fix (fastPageFault=off): make_spte sets the A bit of the leaf it makes writable.
  const w = mappedLeaf({ fastPageFault: 'off' });
  assert.equal(age(w), true);
  const tdp = w.kvm.mmu as unknown as { clearWritable(root: unknown, gfn: number): boolean; allRoots: unknown[] };
  tdp.clearWritable(tdp.allRoots[0], 0);
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), -1, 'a write to the read-only leaf is refused');
  assert.equal(age(w), true, 'the refused write used the leaf: A set (the SDM)');
  assert.equal(age(w), false);
  runAlone(w.inst, function* () {
    assert.equal(yield* kvmMmuPageFault(w.v, 0, true), 'fixed');
  });
  assert.equal(age(w), true, 'make_spte set the A bit of the leaf it made writable');
});

test('pay for what you use: a world without aging keeps no A bit and its guest walk is a read (fault-vs-invalidation-mini); an aging world announces the walk as a write', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const plain = createInstance(s, { settings: effectiveSettings(s), mutant: null, log: false, metrics: false });
  assert.equal(plain.kvm.spteWalk, READ);
  assert.equal((plain.kvm.mmu as unknown as { accessed: unknown }).accessed, null);
  assert.equal(world().kvm.spteWalk, WRITE);
});

test('simulator (page-aging, seed 1, 4 ms): metrics.aging counts folio_referenced calls, young pages kept and old ones reclaimed; absent where no reclaim ages', () => {
  const s = loadScenario('page-aging');
  s.stop.timeNs = 4_000_000;
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 });
  const a = r.metrics.aging!;
  assert.ok(a.young > 0 && a.old > 0, JSON.stringify(a));
  assert.equal(a.aged, a.young + a.old);
  // Each old page is reclaimed: one invalidation each.
  assert.equal(r.metrics.invalidations.started, a.old);
  assert.deepEqual(r.violations, []);
  const other = loadScenario('fault-vs-invalidation-mini');
  assert.equal('aging' in simulate(other, { settings: effectiveSettings(other), mutant: null, seed: 1 }).metrics, false);
});
