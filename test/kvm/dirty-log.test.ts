import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvmGetDirtyLogProtect } from '../../src/kvm/dirty-log-ioctl.js';
import { enableAndCopy, harvestAndCopy } from '../../src/kvm/dirty-log-migration.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { ShadowMmu } from '../../src/kvm/shadow-mmu.js';
import type { Violation } from '../../src/runtime/instance.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { runAlone } from './shadow-harness.js';

/** dirty-log-mini's world under `mmu`, nothing run yet (its migration thread never steps here: the tests drive the ioctls). */
function world(mmu: 'tdp' | 'shadow') {
  const s = loadScenario('dirty-log-mini');
  const inst = createInstance(s, { settings: effectiveSettings(s, { mmu }), mutant: null, log: false, metrics: false });
  return { inst, kvm: inst.kvm, log: inst.kvm.dirtyLog! };
}

/** The dirty-logging events, as lines. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'markPageDirty') this.lines.push(`mark gfn ${ev.gfn}${ev.wpFault ? ' wp-fault' : ''}`);
    if (ev.e === 'dirtyLogWrprot') this.lines.push(`wrprot gfn ${ev.gfn} by ${ev.by}`);
    if (ev.e === 'dirtyLogHarvest') this.lines.push(`harvest #${ev.n} ${ev.phase} [${ev.gfns.join(',')}] ${ev.flush}`);
    if (ev.e === 'remoteFlushBegin') this.lines.push(`flush ${ev.reason}`);
    if (ev.e === 'dirtyLogCopy') this.lines.push(`copy gfn ${ev.gfn}`);
  }
}

/** A guest write of gfn 0 by vCPU0 as the oracle sees it. */
function write(kvm: ReturnType<typeof world>['kvm'], via: 'tlb' | 'spte' = 'tlb', w = true): void {
  kvm.emit({ e: 'guestAccess', vcpu: 0, gfn: 0, pfn: 0x1000, write: w, via });
}

test('lost-dirty-write, judged at the end of the run: a write to a logged gfn no copy came after, with its dirty bit clear and no copy or mark to come, is lost; a bit set, a copy or a mark to come, a copy after it, a read, or logging off, and it is not', () => {
  /** One run: `before` sets the world up, then vCPU0's write (or read), then `after`; the violations finish() finds. */
  const judge = (
    before: (log: ReturnType<typeof world>['log'], kvm: ReturnType<typeof world>['kvm']) => void,
    after: (log: ReturnType<typeof world>['log']) => void,
    via: 'tlb' | 'spte' = 'tlb',
    w = true,
  ): Violation[] => {
    const { inst, kvm, log } = world('tdp');
    before(log, kvm);
    write(kvm, via, w);
    assert.deepEqual(inst.violations, [], 'nothing judged at the write');
    after(log);
    inst.finish();
    return inst.violations;
  };
  const copied = (log: ReturnType<typeof world>['log'], kvm: ReturnType<typeof world>['kvm'], n = 0) => {
    log.enabled = true;
    log.copied(kvm.memslots.gfnToMemslot(0)!, 0, n);
  };
  const none = () => {};
  assert.deepEqual(judge(none, none), [], 'logging not enabled yet');
  assert.deepEqual(
    judge((log) => {
      log.enabled = true;
      log.toCopy.add(0);
    }, none),
    [],
    'the first full copy is still to come: it has the write',
  );
  assert.deepEqual(
    judge(copied, (log) => log.bitmap.add(0)),
    [],
    'the bit is set at the end (even if set after the write): the next harvest reports the page',
  );
  assert.deepEqual(
    judge(copied, (log) => log.marking.set(0, 1)),
    [],
    "a fast_page_fault's mark is still to come",
  );
  assert.deepEqual(judge(copied, none, 'tlb', false), [], 'a read changes nothing');
  const lost = judge(copied, none);
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.kind, 'lost-dirty-write');
  assert.equal(lost[0]!.thread, 'vCPU0');
  assert.match(
    lost[0]!.message,
    /^vCPU0 wrote gfn 0x0 through its TLB and reached pfn 0x1000 without a fault at [\d.]+(?:ns|µs|ms), the VMM's last copy of the page coming before it \(after KVM_SET_USER_MEMORY_REGION enabled KVM_MEM_LOG_DIRTY_PAGES\), and by the end gfn 0x0's dirty bit is clear, with no copy or mark of it still to come: no harvest will report this write, and the migrated copy lacks it \(vCPU0's TLB entry still allowed writes\)$/,
  );
  const lost2 = judge((log, kvm) => copied(log, kvm, 2), none, 'spte');
  assert.match(lost2[0]!.message, /last copy of the page coming before it \(after KVM_GET_DIRTY_LOG #2 reported it\), .*the migrated copy lacks it$/);
  // A copy after the write has it.
  const { inst, kvm, log } = world('tdp');
  copied(log, kvm);
  write(kvm);
  kvm.emit({ e: 'dirtyLogCopy', slot: 0, n: 1, gfn: 0 });
  inst.finish();
  assert.deepEqual(inst.violations, [], 'copied after the write');
});

for (const mmu of ['tdp', 'shadow'] as const) {
  test(`${mmu}: enabling logging write-protects the leaf; a write then faults, the fault makes it writable and marks the gfn dirty; the harvest takes the bit, write-protects and flushes before it returns, then the page is copied`, () => {
    const { inst, kvm, log } = world(mmu);
    const lines = new Log();
    kvm.subscribe(lines);
    const v = kvm.vcpus[0]!;
    // Shadow paging: the guest's process maps the page first (its PTE, which KVM's walk reads).
    if (kvm.mmu instanceof ShadowMmu) kvm.mmu.guestCpu(v).prefault(0);
    runAlone(inst, function* () {
      yield* kvm.mmu.reloadRoot(v);
      assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
    });
    assert.deepEqual(lines.lines, [], 'no mark before logging is enabled');
    assert.ok(kvm.mmu.walk(v, 0, true) >= 0, 'the leaf is writable');
    runAlone(inst, () => enableAndCopy(kvm, log));
    assert.equal(kvm.mmu.walk(v, 0, true), -1, 'a write to the write-protected leaf faults');
    assert.ok(kvm.mmu.walk(v, 0, false) >= 0, 'a read goes through');
    assert.equal(kvm.mmu.walkWritable, false);
    runAlone(inst, function* () {
      assert.equal(yield* kvmMmuPageFault(v, 0, true), 'fixed');
    });
    assert.ok(kvm.mmu.walk(v, 0, true) >= 0, 'writable again');
    assert.deepEqual([...log.bitmap], [0]);
    runAlone(inst, () => harvestAndCopy(kvm, log, 1));
    assert.deepEqual([...log.bitmap], []);
    assert.equal(kvm.mmu.walk(v, 0, true), -1, 'write-protected by the harvest');
    assert.deepEqual(lines.lines, [
      'wrprot gfn 0 by kvm_mmu_slot_apply_flags',
      'flush kvm_mmu_slot_apply_flags',
      'copy gfn 0',
      'mark gfn 0 wp-fault',
      'harvest #1 taken [0] none needed',
      'wrprot gfn 0 by KVM_GET_DIRTY_LOG',
      'flush kvm_flush_remote_tlbs_memslot',
      'harvest #1 returned [0] done',
      'copy gfn 0',
    ]);
    assert.deepEqual(inst.violations, []);
  });
}

test('run dirty-log-mini (seed 1): the harvest reports the page one write fault dirtied; metrics.dirtyLog counts it, no violation', () => {
  const s = loadScenario('dirty-log-mini');
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 });
  assert.deepEqual(r.violations, []);
  assert.deepEqual(r.metrics.dirtyLog, { harvests: 1, pagesHarvested: 1, leavesWriteProtected: 2, pagesMarked: 1, wpFaults: 1, pagesCopied: 2 });
  const other = loadScenario('fault-vs-invalidation-mini');
  assert.equal('dirtyLog' in simulate(other, { settings: effectiveSettings(other), mutant: null, seed: 1 }).metrics, false);
});

test('KVM_GET_DIRTY_LOG holds mmu_lock for write while it write-protects: each gfn of a mask costs costs.dirtyLogWrprotNs and each bitmap word dirtyBitmapWordNs inside the hold (128 dirty gfns, 2 words)', () => {
  const hold = (costs: string) => {
    const s = parseScenario(
      `vm:\n  vcpus: 1\n  apicAccessPage: false\n  memslots: [{ id: 0, baseGfn: 0, pages: 128 }]\nworkload: { gfnCount: 128, accesses: 1 }\nhost:\n  dirtyLog: { slot: 0 }\ncosts: ${costs}\n`,
      'x.yaml',
    );
    const inst = createInstance(s, { settings: effectiveSettings(s, {}), mutant: null, log: false, metrics: false });
    const log = inst.kvm.dirtyLog!;
    log.enabled = true;
    for (let g = 0; g < 128; g++) log.bitmap.add(g);
    let reported: number[] = [];
    runAlone(inst, function* () {
      reported = yield* kvmGetDirtyLogProtect(inst.kvm, log, 1);
    });
    assert.equal(reported.length, 128);
    return inst.kvm.mmuLock.stats.writeHoldMaxNs;
  };
  const free = hold('{ dirtyLogWrprotNs: 0, dirtyBitmapWordNs: 0 }');
  assert.equal(hold('{}') - free, 128 * 30 + 2 * 5, 'the defaults: 30 ns a gfn, 5 ns a word');
  assert.equal(hold('{ dirtyLogWrprotNs: 100, dirtyBitmapWordNs: 0 }') - free, 128 * 100);
});

test('host.dirtyLog is refused for a slot the VM lacks, and with a memslot change of the logged slot', () => {
  const base = 'vm:\n  vcpus: 1\n  memslots:\n    - { id: 0, baseGfn: 0, pages: 4 }\n    - { id: 1, baseGfn: 16, pages: 4 }\nworkload: { gfnCount: 4 }\n';
  assert.throws(
    () => parseScenario(`${base}host:\n  dirtyLog: { slot: 3 }\n`, 't'),
    /host\.dirtyLog\.slot: no memslot 3; expected one of vm\.memslots' ids \(0, 1\)/,
  );
  assert.throws(
    () => parseScenario(`${base}host:\n  dirtyLog: { slot: 1 }\n  memslotChanges:\n    - { atNs: 10, op: delete, slot: 1 }\n`, 't'),
    /host\.memslotChanges\[0\]\.slot: memslot 1 is the one host\.dirtyLog logs/,
  );
  assert.doesNotThrow(() => parseScenario(`${base}host:\n  dirtyLog: { slot: 0, harvests: 3 }\n`, 't'));
});

test('run, judged at the end: dirty-log-mini with fast-pf-no-mark-dirty ends in lost-dirty-write; unmutated (both MMUs, and fast-pf-mini), a run cut by maxSteps after any step reports none (the marks and copies still to come count)', () => {
  const s = loadScenario('dirty-log-mini');
  const m = simulate(s, { settings: effectiveSettings(s), mutant: 'fast-pf-no-mark-dirty', seed: 1 });
  assert.deepEqual(
    m.violations.map((v) => v.kind),
    ['lost-dirty-write'],
  );
  assert.match(
    m.violations[0]!.message,
    /^vCPU\d wrote gfn 0x0 through its SPTEs .* after a fault that did not mark the page dirty at [\d.]+(?:ns|µs|ms), .*by the end gfn 0x0's dirty bit is clear/,
  );
  for (const [name, mmu] of [
    ['dirty-log-mini', 'tdp'],
    ['dirty-log-mini', 'shadow'],
    ['fast-pf-mini', 'tdp'],
  ] as const) {
    const sc = loadScenario(name);
    const settings = effectiveSettings(sc, { mmu });
    const all = simulate(sc, { settings, mutant: null, seed: 1 });
    assert.deepEqual(all.violations, []);
    for (let n = 1; n < all.steps; n++) {
      const r = simulate(sc, { settings, mutant: null, seed: 1, maxSteps: n });
      assert.equal(r.partial, true);
      assert.deepEqual(r.violations, [], `${name} ${mmu} cut after ${n} steps`);
    }
  }
});
