import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DirtyLogProtect } from '../../src/kvm/dirty-log.js';
import { kvmGetDirtyLogProtect } from '../../src/kvm/dirty-log-ioctl.js';
import { enableAndCopy, harvestAndCopy } from '../../src/kvm/dirty-log-migration.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { ShadowMmu } from '../../src/kvm/shadow-mmu.js';
import { opRead, opWrite } from '../../src/runtime/op.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { simulate } from '../../src/simulate/simulate.js';
import { assertLostAtEnd, fastFixThenWrite, runOn } from './fast-fix-harness.js';
import { runAlone } from './shadow-harness.js';

/** dirty-log-manual-mini with host.dirtyLog.protect as given. */
function scenario(protect: DirtyLogProtect = 'manual'): Scenario {
  const s = loadScenario('dirty-log-manual-mini');
  return { ...s, host: { ...s.host, dirtyLog: { ...s.host.dirtyLog!, protect } } };
}

/** Its world under `mmu`, nothing run yet (its migration thread never steps here: the tests drive the ioctls). */
function world(mmu: 'tdp' | 'shadow', mutant: string | null = null, protect: DirtyLogProtect = 'manual') {
  const s = scenario(protect);
  const inst = createInstance(s, { settings: effectiveSettings(s, { mmu }), mutant, log: false, metrics: false });
  return { inst, kvm: inst.kvm, log: inst.kvm.dirtyLog! };
}

/** The dirty-logging events, as lines. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'markPageDirty') this.lines.push(`mark gfn ${ev.gfn}${ev.fast ? ' fast' : ''}`);
    if (ev.e === 'dirtyLogWrprot') this.lines.push(`wrprot gfn ${ev.gfn} by ${ev.by}`);
    if (ev.e === 'dirtyLogHarvest') this.lines.push(`get #${ev.n} ${ev.phase} [${ev.gfns.join(',')}] ${ev.flush}`);
    if (ev.e === 'dirtyLogClear')
      this.lines.push(
        `clear #${ev.n} ${ev.phase} [${ev.mask.join(',')}] → [${ev.gfns.join(',')}] ${ev.flush}${ev.lost ? ` lost [${ev.lost.join(',')}]` : ''}${ev.plain ? ' plain' : ''}`,
      );
    if (ev.e === 'remoteFlushBegin') this.lines.push(`flush ${ev.reason}`);
    if (ev.e === 'dirtyLogCopy') this.lines.push(`copy gfn ${ev.gfn}`);
    if (ev.e === 'fastPfCmpxchg') this.lines.push(`vCPU${ev.vcpu} cmpxchg ${ev.ok ? 'ok' : 'failed'}`);
  }
}

for (const mmu of ['tdp', 'shadow'] as const) {
  test(`${mmu}, manual protect: KVM_GET_DIRTY_LOG copies the bitmap out and leaves the bit set and the leaf writable, no flush; KVM_CLEAR_DIRTY_LOG clears it, write-protects and flushes before it returns; then the page is copied`, () => {
    const { inst, kvm, log } = world(mmu);
    const lines = new Log();
    const v = kvm.vcpus[0]!;
    if (kvm.mmu instanceof ShadowMmu) kvm.mmu.guestCpu(v).prefault(0);
    runAlone(inst, () => kvm.mmu.reloadRoot(v));
    runAlone(inst, () => enableAndCopy(kvm, log));
    kvm.subscribe(lines);
    runAlone(inst, function* () {
      assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
    });
    let got: number[] = [];
    runAlone(inst, function* () {
      got = yield* kvmGetDirtyLogProtect(kvm, log, 1);
    });
    assert.deepEqual(got, [0]);
    assert.deepEqual([...log.bitmap], [0], 'the bit stays set');
    assert.ok(kvm.mmu.walk(v, 0, true) >= 0, 'the leaf stays writable');
    runAlone(inst, () => harvestAndCopy(kvm, log, 2));
    assert.deepEqual([...log.bitmap], []);
    assert.equal(kvm.mmu.walk(v, 0, true), -1, 'write-protected by the clear');
    assert.deepEqual(lines.lines, [
      'mark gfn 0',
      'get #1 copied [0] none needed',
      'get #1 returned [0] none needed',
      'get #2 copied [0] none needed',
      'get #2 returned [0] none needed',
      'clear #2 cleared [0] → [0] none needed',
      'wrprot gfn 0 by KVM_CLEAR_DIRTY_LOG',
      'flush kvm_flush_remote_tlbs_memslot',
      'clear #2 returned [0] → [0] done',
      'copy gfn 0',
    ]);
    assert.equal(log.harvests, 2);
    assert.equal(log.clears, 1);
    inst.finish();
    assert.deepEqual(inst.violations, []);
  });
}

test('manual-initially-set: enabling logging sets every bit and write-protects nothing (no flush, no copy); the first harvest reports every page, its clear write-protects each, and its copies are the full copy', () => {
  const { inst, kvm, log } = world('tdp', null, 'manual-initially-set');
  const lines = new Log();
  const v = kvm.vcpus[0]!;
  runAlone(inst, function* () {
    yield* kvm.mmu.reloadRoot(v);
    assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
  });
  kvm.subscribe(lines);
  runAlone(inst, () => enableAndCopy(kvm, log));
  assert.deepEqual(lines.lines, [], 'nothing write-protected, flushed or copied');
  assert.deepEqual([...log.bitmap].sort(), [0, 1]);
  assert.ok(kvm.mmu.walk(v, 0, true) >= 0, 'the leaf stays writable');
  // A write now is logged: its bit is set.
  kvm.emit({ e: 'guestAccess', vcpu: 0, gfn: 0, pfn: 0x1000, write: true, via: 'tlb' });
  runAlone(inst, () => harvestAndCopy(kvm, log, 1));
  assert.deepEqual(lines.lines, [
    'get #1 copied [0,1] none needed',
    'get #1 returned [0,1] none needed',
    'clear #1 cleared [0,1] → [0,1] none needed',
    'wrprot gfn 0 by KVM_CLEAR_DIRTY_LOG',
    'wrprot gfn 1 by KVM_CLEAR_DIRTY_LOG',
    'flush kvm_flush_remote_tlbs_memslot',
    'clear #1 returned [0,1] → [0,1] done',
    'copy gfn 0',
    'copy gfn 1',
  ]);
  assert.equal(kvm.mmu.walk(v, 0, true), -1, 'write-protected by the first clear');
  inst.finish();
  assert.deepEqual(inst.violations, []);
});

/**
 * The race atomic_long_fetch_andnot exists for, driven by hand (TDP): vCPU1
 * mapped gfn 1 before logging was enabled, vCPU0 dirtied gfn 0 after. vCPU1's
 * write to the write-protected gfn 1 takes fast_page_fault up to its cmpxchg
 * (the leaf writable, the mark still to come) and writes through the leaf; the
 * VMM's KVM_GET_DIRTY_LOG reports gfn 0 alone and its KVM_CLEAR_DIRTY_LOG of
 * gfn 0 comes to its word (under the mutant, past the plain read); then
 * vCPU1's mark of gfn 1 lands, in the same word; then the VMM goes on (the
 * clear, the copy of gfn 0). The end of the run judges lost-dirty-write.
 */
function markDuringClear(mutant: string | null) {
  const { inst, kvm, log } = world('tdp', mutant);
  const [v0, v1] = [kvm.vcpus[0]!, kvm.vcpus[1]!];
  runAlone(inst, function* () {
    yield* kvm.mmu.reloadRoot(v0);
    yield* kvm.mmu.reloadRoot(v1);
    assert.equal(yield* kvmMmuPageFault(v1, 1, true), 'fixed');
  });
  runAlone(inst, () => enableAndCopy(kvm, log));
  runAlone(inst, function* () {
    assert.equal(yield* kvmMmuPageFault(v0, 0, true), 'fixed');
  });
  const lines = new Log();
  kvm.subscribe(lines);
  const fault = fastFixThenWrite(inst, lines.lines, { v: v1, gfn: 1, fixed: 'vCPU1 cmpxchg ok' }, v1, 'vCPU1 writes gfn 1');
  const vmm = inst.rt.spawn('migration', () => harvestAndCopy(kvm, log, 1));
  // Up to the clear's step on the bitmap word (past the plain read, under the mutant).
  const at = mutant === null ? opWrite(log.obj) : opRead(log.obj);
  for (let n = 0; !(lines.lines.includes('get #1 returned [0] none needed') && vmm.op === at); n++) {
    assert.ok(n < 1000 && vmm.state !== 'done', 'the clear never came to the word');
    inst.rt.runStep(vmm);
  }
  if (mutant !== null) inst.rt.runStep(vmm);
  lines.lines.push('vCPU1:');
  runOn(inst, fault);
  lines.lines.push('VMM:');
  runOn(inst, vmm);
  assert.equal(vmm.state, 'done');
  return { inst, kvm, log, lines: lines.lines };
}

test("fast_page_fault's lockless mark of gfn 1 while KVM_CLEAR_DIRTY_LOG clears gfn 0 of the same word: atomic_long_fetch_andnot keeps the bit, the next harvest reports the page, no write lost", () => {
  const { inst, log, lines } = markDuringClear(null);
  assert.deepEqual(lines, [
    'vCPU1 cmpxchg ok',
    'vCPU1 writes gfn 1',
    'get #1 copied [0] none needed',
    'get #1 returned [0] none needed',
    'vCPU1:',
    'mark gfn 1 fast',
    'VMM:',
    'clear #1 cleared [0] → [0] none needed',
    'wrprot gfn 0 by KVM_CLEAR_DIRTY_LOG',
    'flush kvm_flush_remote_tlbs_memslot',
    'clear #1 returned [0] → [0] done',
    'copy gfn 0',
  ]);
  assert.deepEqual([...log.bitmap], [1], "gfn 1's bit survives the clear");
  inst.finish();
  assert.deepEqual(inst.violations, []);
});

test("regression, clear-dirty-log-plain-andnot: the same mark between the clear's plain read of the word and its write back is overwritten; at the end, vCPU1's write to gfn 1 is lost (the mutant acted)", () => {
  const { inst, kvm, log, lines } = markDuringClear('clear-dirty-log-plain-andnot');
  assert.deepEqual(lines, [
    'vCPU1 cmpxchg ok',
    'vCPU1 writes gfn 1',
    'get #1 copied [0] none needed',
    'get #1 returned [0] none needed',
    'clear #1 read [0] → [0] none needed plain',
    'vCPU1:',
    'mark gfn 1 fast',
    'VMM:',
    'clear #1 cleared [0] → [0] none needed lost [1] plain',
    'wrprot gfn 0 by KVM_CLEAR_DIRTY_LOG',
    'flush kvm_flush_remote_tlbs_memslot',
    'clear #1 returned [0] → [0] done',
    'copy gfn 0',
  ]);
  assert.deepEqual([...log.bitmap], []);
  assert.equal(kvm.mutation.acted, 1);
  assertLostAtEnd(
    inst,
    'vCPU1',
    /^vCPU1 wrote gfn 0x1 through its SPTEs .*\(after KVM_SET_USER_MEMORY_REGION enabled KVM_MEM_LOG_DIRTY_PAGES\), and by the end gfn 0x1's dirty bit is clear/,
  );
});

test('run dirty-log-manual-mini (seed 1, both MMUs, and manual-initially-set): metrics.dirtyLog counts the clears, no violation, and a run cut by maxSteps after any step reports none; dirty-log-mini has no clears key', () => {
  for (const protect of ['manual', 'manual-initially-set'] as const) {
    for (const mmu of ['tdp', 'shadow'] as const) {
      const s = scenario(protect);
      const settings = effectiveSettings(s, { mmu });
      const all = simulate(s, { settings, mutant: null, seed: 1 });
      assert.deepEqual(all.violations, [], `${protect} ${mmu}`);
      assert.equal(all.metrics.dirtyLog?.clears, 1);
      assert.equal(all.metrics.dirtyLog?.pagesCleared, 2);
      for (let n = 1; n < all.steps; n++) {
        const r = simulate(s, { settings, mutant: null, seed: 1, maxSteps: n });
        assert.deepEqual(r.violations, [], `${protect} ${mmu} cut after ${n} steps`);
      }
    }
  }
  const s = loadScenario('dirty-log-mini');
  assert.equal('clears' in simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 }).metrics.dirtyLog!, false);
});

test('host.dirtyLog.protect: a value outside get, manual, manual-initially-set is refused at the field; absent, a scenario digests as before', () => {
  const base = 'vm:\n  vcpus: 1\n  memslots:\n    - { id: 0, baseGfn: 0, pages: 4 }\nworkload: { gfnCount: 4 }\nhost:\n';
  assert.throws(
    () => parseScenario(`${base}  dirtyLog: { slot: 0, protect: clear }\n`, 't.yaml'),
    /^InputError: t\.yaml:7:33 host\.dirtyLog\.protect: expected one of "get", "manual", "manual-initially-set"$/,
  );
  assert.equal(parseScenario(`${base}  dirtyLog: { slot: 0 }\n`, 't').host.dirtyLog!.protect, undefined);
  assert.equal(parseScenario(`${base}  dirtyLog: { slot: 0, protect: manual-initially-set }\n`, 't').host.dirtyLog!.protect, 'manual-initially-set');
});
