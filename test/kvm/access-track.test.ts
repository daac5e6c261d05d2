import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvmMmuNotifierClearFlushYoung } from '../../src/kvm/age-gfn.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { eptAccessTracking, type Settings } from '../../src/kvm/settings.js';
import type { Thread } from '../../src/runtime/thread.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { agingWorld, mappedLeafWorld } from './aging-harness.js';
import { runAlone, underMmuLock } from './shadow-harness.js';

// Access tracking without EPT A/D bits (eptAdBits=off), driven by hand on
// age-access-track-mini's world, its own threads never stepping.

const PFN = 0x1000;

function world(over: Partial<Settings> = {}, mutant: string | null = null) {
  return agingWorld('age-access-track-mini', over, mutant);
}

/** Aging's and the fast path's events as lines. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'ageSpteRead') this.lines.push(`age read ${ev.young ? 'young' : 'old'}`);
    if (ev.e === 'ageSpteMark') this.lines.push(`mark ${ev.ok ? 'ok' : 'failed'}${ev.plain ? ' plain' : ''}`);
    if (ev.e === 'fastPfGetSpte') this.lines.push(`fast read ${ev.pfn < 0 ? 'none' : ev.accessTracked ? 'tracked' : ev.writable ? 'rw' : 'ro'}`);
    if (ev.e === 'fastPfCmpxchg') this.lines.push(`cmpxchg ${ev.ok ? 'ok' : 'failed'}${ev.restore ? ` restore ${ev.newWritable ? 'rw' : 'ro'}` : ''}`);
    if (ev.e === 'fastPageFault') this.lines.push(`fast_page_fault ${ev.ret}`);
  }
}

/** Both vCPUs have a root and vCPU0's write fault mapped gfn 0; a log is attached. */
function mappedLeaf(over: Partial<Settings> = {}, mutant: string | null = null) {
  return mappedLeafWorld('age-access-track-mini', new Log(), over, mutant);
}

function age(w: ReturnType<typeof mappedLeaf>): boolean {
  let young = false;
  runAlone(w.inst, function* () {
    young = yield* kvmMmuNotifierClearFlushYoung(w.kvm, w.hva, w.hva + 1);
  });
  return young;
}

/** The fault an EPT violation on gfn 0 takes (not present: no PFERR_PRESENT), alone; its result and the read locks it took. */
function fault(w: ReturnType<typeof mappedLeaf>, write: boolean, present = false) {
  const reads = w.kvm.mmuLock.stats.readAcquires;
  let ret = '';
  runAlone(w.inst, function* () {
    ret = yield* kvmMmuPageFault(w.v, 0, write, present);
  });
  return { ret, readLocks: w.kvm.mmuLock.stats.readAcquires - reads };
}

/** Steps `t` until `done` holds. */
function stepUntil(w: { inst: ReturnType<typeof world>['inst'] }, t: Thread, done: () => boolean, what: string): void {
  for (let n = 0; !done(); n++) {
    assert.ok(n < 1000 && t.state === 'runnable', what);
    w.inst.rt.runStep(t);
  }
}

test('eptAdBits=off: kvm_age_gfn marks the young leaf for access tracking (no TLB flush); the hardware walk then faults, not present; aged again it is old and left alone', () => {
  const w = mappedLeaf();
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), PFN);
  assert.equal(age(w), true);
  assert.equal(w.kvm.mmu.walk(w.v, 0, false), -1, 'not present to the hardware');
  assert.equal(age(w), false);
  assert.deepEqual(w.log.lines, ['age read young', 'mark ok', 'age read old']);
  assert.equal(w.v.requests, 0, 'no flush asked of the vCPUs');
  // Shadow-present still: the oracle's search for mappings finds it, and says it is access-tracked.
  assert.deepEqual(w.kvm.mmu.findMapping(0, 1), { root: 0, gfn: 0, pfn: PFN, accessTracked: true });
  assert.deepEqual(w.inst.violations, []);
});

test('eptAdBits=off: a write to the access-tracked leaf is an EPT violation that fast_page_fault fixes without mmu_lock (restore_acc_track_spte, W set for the write); the leaf is young again', () => {
  const w = mappedLeaf();
  age(w);
  w.log.lines.length = 0;
  const { ret, readLocks } = fault(w, true);
  assert.equal(ret, 'fixed');
  assert.equal(readLocks, 0, 'no mmu_lock');
  assert.deepEqual(w.log.lines, ['fast read tracked', 'cmpxchg ok restore rw', 'fast_page_fault fixed']);
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), PFN, 'present and writable');
  assert.equal(age(w), true, 'young: not access-tracked');
  assert.deepEqual(w.inst.violations, []);
});

test('eptAdBits=off: a read restores R and X only (the W bit is not saved); the write after it takes a write-protect fault the fast path fixes', () => {
  const w = mappedLeaf();
  age(w);
  w.log.lines.length = 0;
  assert.equal(fault(w, false).ret, 'fixed');
  assert.equal(w.kvm.mmu.walk(w.v, 0, false), PFN);
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), -1, 'read-only');
  assert.equal(fault(w, true, true).ret, 'fixed');
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), PFN);
  assert.deepEqual(w.log.lines, ['fast read tracked', 'cmpxchg ok restore ro', 'fast_page_fault fixed', 'fast read ro', 'cmpxchg ok', 'fast_page_fault fixed']);
});

test('eptAdBits=off, fastPageFault=off: the slow path replaces the access-tracked leaf under mmu_lock (make_spte)', () => {
  const w = mappedLeaf({ fastPageFault: 'off' });
  age(w);
  const { ret, readLocks } = fault(w, true);
  assert.equal(ret, 'fixed');
  assert.equal(readLocks, 1);
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), PFN);
});

/** The lockless aging reads the young leaf, a notifier's zap clears it, then the aging goes on to its mark. */
function zapBetweenReadAndMark(mutant: string | null) {
  const w = mappedLeaf({}, mutant);
  let young = false;
  const t = w.inst.rt.spawn('age', function* () {
    young = yield* kvmMmuNotifierClearFlushYoung(w.kvm, w.hva, w.hva + 1);
  });
  stepUntil(w, t, () => w.log.lines.includes('age read young'), 'the aging never read the leaf');
  underMmuLock(w.inst, function* () {
    yield* w.kvm.mmu.unmapGfnRange(0, 1, false);
  });
  w.log.lines.push('zap');
  stepUntil(w, t, () => t.state !== 'runnable', 'the aging never ended');
  return { ...w, young };
}

test("a zap between the lockless read and the mark: mark_spte_for_access_track's cmpxchg fails and is not retried; the leaf stays zapped, the page counted young", () => {
  const w = zapBetweenReadAndMark(null);
  assert.equal(w.young, true);
  assert.deepEqual(w.log.lines, ['age read young', 'zap', 'mark failed']);
  assert.equal(w.kvm.mmu.findMapping(0, 1), null, 'still zapped');
  assert.equal(w.kvm.mutation.acted, 0);
});

test('regression, age-mark-plain-store: the plain store brings the zapped leaf back access-tracked with the old pfn, and fast_page_fault restores it (the mutant acted)', () => {
  const w = zapBetweenReadAndMark('age-mark-plain-store');
  assert.deepEqual(w.log.lines, ['age read young', 'zap', 'mark ok plain']);
  assert.equal(w.kvm.mutation.acted, 1);
  assert.deepEqual(w.kvm.mmu.findMapping(0, 1), { root: 0, gfn: 0, pfn: PFN, accessTracked: true });
  assert.equal(fault(w, true).ret, 'fixed');
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), PFN, 'the zapped translation is back, present');
});

test('age-mark-plain-store under mmuAging=mmu-lock: read and mark are one step under the write lock, the mutant never acts', () => {
  const w = mappedLeaf({ mmuAging: 'mmu-lock' }, 'age-mark-plain-store');
  const writes = w.kvm.mmuLock.stats.writeAcquires;
  assert.equal(age(w), true);
  assert.equal(w.kvm.mmuLock.stats.writeAcquires - writes, 1);
  assert.deepEqual(w.log.lines, ['age read young', 'mark ok']);
  assert.equal(w.kvm.mutation.acted, 0);
});

test("a zap between fast_page_fault's read of the access-tracked leaf and its cmpxchg: the cmpxchg fails, the re-read finds no leaf, and the slow path maps the page (RET_PF_INVALID first)", () => {
  const w = mappedLeaf();
  age(w);
  w.log.lines.length = 0;
  let ret = '';
  const t = w.inst.rt.spawn('fault', function* () {
    ret = yield* kvmMmuPageFault(w.v, 0, true, false);
  });
  stepUntil(w, t, () => w.log.lines.includes('fast read tracked'), 'the fast path never read the leaf');
  underMmuLock(w.inst, function* () {
    yield* w.kvm.mmu.unmapGfnRange(0, 1, false);
  });
  stepUntil(w, t, () => t.state !== 'runnable', 'the fault never ended');
  assert.equal(ret, 'fixed');
  assert.deepEqual(w.log.lines, ['fast read tracked', 'cmpxchg failed restore rw', 'fast read none', 'fast_page_fault invalid']);
  assert.equal(w.kvm.mmu.walk(w.v, 0, true), PFN, 'the slow path mapped it again');
});

test('eptAdBits=on (the default, or given): the A bit is cleared, no access tracking, and a not-present fault never goes to fast_page_fault; shadow paging never tracks access', () => {
  for (const over of [{}, { eptAdBits: 'on' }] as Partial<Settings>[]) {
    const s = loadScenario('age-vs-numa-mini');
    const inst = createInstance(s, { settings: effectiveSettings(s, over), mutant: null, log: false, metrics: false });
    const kvm = inst.kvm;
    const hva = kvm.memslots.byId(0)!.hvaPage;
    const v = kvm.vcpus[0]!;
    const log = new Log();
    kvm.subscribe(log);
    runAlone(inst, function* () {
      yield* kvm.mmu.reloadRoot(v);
      assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
      assert.equal(yield* kvmMmuNotifierClearFlushYoung(kvm, hva, hva + 1), true);
    });
    assert.deepEqual(log.lines, ['age read young'], JSON.stringify(over));
    assert.equal(kvm.mmu.walk(v, 0, true), PFN, 'still present');
  }
  assert.equal(eptAccessTracking({ mmu: 'shadow', eptAdBits: 'off' }), false);
  assert.equal(eptAccessTracking({ mmu: 'tdp', eptAdBits: 'off' }), true);
});

test('the default is byte-identical: page-aging with eptAdBits=on given equals the default run, and neither has aging.accessTrack; off has it, with restores', () => {
  const s = loadScenario('page-aging');
  const short = { ...s, stop: { ...s.stop, timeNs: 2_000_000 } };
  const run = (over: Partial<Settings>) => simulate(short, { settings: effectiveSettings(short, over), seed: 1, mutant: null });
  const strip = (r: ReturnType<typeof run>) => JSON.stringify({ ...r, wallMs: 0 });
  const def = run({});
  assert.equal(strip(run({ eptAdBits: 'on' })), strip(def));
  assert.equal(def.metrics.aging?.accessTrack, undefined);
  const off = run({ eptAdBits: 'off' }).metrics.aging!.accessTrack!;
  assert.ok(off.marked > 0 && off.restored > 0, JSON.stringify(off));
});
