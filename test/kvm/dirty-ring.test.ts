import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enableAndCopy } from '../../src/kvm/dirty-log-migration.js';
import { KVM_DIRTY_GFN_F_DIRTY, KVM_DIRTY_GFN_F_RESET, kvmDirtyRingCheckRequest, kvmDirtyRingPush } from '../../src/kvm/dirty-ring.js';
import { kvmVmIoctlResetDirtyPages } from '../../src/kvm/dirty-ring-reset.js';
import { kvmDirtyRingReap } from '../../src/kvm/dirty-ring-vmm.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { KVM_REQ_DIRTY_RING_SOFT_FULL } from '../../src/kvm/requests.js';
import { ShadowMmu } from '../../src/kvm/shadow-mmu.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { runAlone } from './shadow-harness.js';

/** dirty-ring-mini's world under `mmu` (rings of 2 entries), nothing run yet: the tests drive the faults and ioctls. */
function world(mmu: 'tdp' | 'shadow', mutant: string | null = null) {
  const s = loadScenario('dirty-ring-mini');
  const inst = createInstance(s, { settings: effectiveSettings(s, { mmu }), mutant, log: false, metrics: false });
  return { inst, kvm: inst.kvm, log: inst.kvm.dirtyLog! };
}

/** The dirty-ring events, as lines. */
class Log implements Sink {
  lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'markPageDirty') this.lines.push(`bitmap mark gfn ${ev.gfn}`);
    if (ev.e === 'dirtyRingPush') this.lines.push(`push vCPU${ev.vcpu} gfn ${ev.gfn} #${ev.index}${ev.softFull ? ' soft-full' : ''}`);
    if (ev.e === 'dirtyRingCollect') this.lines.push(`collect vCPU${ev.vcpu} [${ev.gfns.join(',')}]`);
    if (ev.e === 'dirtyRingReset')
      this.lines.push(
        ev.phase === 'ring'
          ? `reset ring vCPU${ev.vcpu}: ${ev.entries} reset, dirty ${ev.dirtyIndex} reset ${ev.resetIndex}`
          : `reset ${ev.phase} [${ev.gfns.join(',')}] ${ev.flush}`,
      );
    if (ev.e === 'dirtyRingExit') this.lines.push(`exit vCPU${ev.vcpu}`);
    if (ev.e === 'dirtyLogWrprot') this.lines.push(`wrprot gfn ${ev.gfn} by ${ev.by}`);
    if (ev.e === 'remoteFlushBegin') this.lines.push(`flush ${ev.reason}`);
  }
}

/** Logging enabled and the first copy made; vCPU0's root loaded. */
function enabled(mmu: 'tdp' | 'shadow', mutant: string | null = null) {
  const w = world(mmu, mutant);
  const v = w.kvm.vcpus[0]!;
  if (w.kvm.mmu instanceof ShadowMmu) for (const g of [0, 1, 2]) w.kvm.mmu.guestCpu(v).prefault(g);
  runAlone(w.inst, () => w.kvm.mmu.reloadRoot(v));
  runAlone(w.inst, () => enableAndCopy(w.kvm, w.log));
  const lines = new Log();
  w.kvm.subscribe(lines);
  /** vCPU0's write fault on gfn. */
  const fault = (gfn: number) =>
    runAlone(w.inst, function* () {
      assert.equal(yield* kvmMmuPageFault(v, gfn, true), 'fixed');
    });
  return { ...w, v, lines, fault };
}

for (const mmu of ['tdp', 'shadow'] as const) {
  test(`${mmu}: a write fault pushes the gfn to the faulting vCPU's ring (slot, offset, flags DIRTY; no bitmap); the push that reaches the soft limit makes KVM_REQ_DIRTY_RING_SOFT_FULL, and the check sends the vCPU out until a reset makes room`, () => {
    const { inst, kvm, log, v, lines, fault } = enabled(mmu);
    const ring = log.rings![0]!;
    fault(0);
    assert.deepEqual(ring.dirtyGfns[0], { flags: KVM_DIRTY_GFN_F_DIRTY, slot: 0, offset: 0 });
    assert.equal(ring.dirtyIndex, 1);
    assert.equal(v.requests & (1 << KVM_REQ_DIRTY_RING_SOFT_FULL), 0, 'one entry of two: not soft full');
    fault(1);
    assert.deepEqual(lines.lines, ['push vCPU0 gfn 0 #0', 'push vCPU0 gfn 1 #1 soft-full']);
    assert.deepEqual([...log.bitmap], [], 'no bitmap without KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP');
    assert.deepEqual(log.rings![1]!.dirtyIndex, 0, "vCPU1's ring untouched");
    assert.notEqual(v.requests & (1 << KVM_REQ_DIRTY_RING_SOFT_FULL), 0);
    // The check: soft full, the request made again, KVM_EXIT_DIRTY_RING_FULL.
    assert.equal(kvmDirtyRingCheckRequest(v, ring), true);
    assert.notEqual(v.requests & (1 << KVM_REQ_DIRTY_RING_SOFT_FULL), 0, 'the request stays: the vCPU stays out');
    assert.equal(kvmDirtyRingCheckRequest(v, ring), true, 'and stays out at every try');
    // vcpu_enter_guest itself returns to userspace before any other request or the entry.
    let exit: unknown;
    runAlone(inst, function* () {
      kvm.srcu.readLock();
      exit = yield* v.vcpuEnterGuest();
    });
    assert.deepEqual(exit, { kind: 'dirty-ring-full' });
    assert.equal(v.mode, 0, 'never in guest mode');
    // The VMM reaps: collected, reset; the next check clears the request and lets the vCPU in.
    runAlone(inst, function* () {
      yield* kvmDirtyRingReap(kvm, log, 'exit');
    });
    assert.equal(ring.used(), 0);
    assert.equal(kvmDirtyRingCheckRequest(v, ring), false);
    assert.equal(v.requests & (1 << KVM_REQ_DIRTY_RING_SOFT_FULL), 0, 'cleared at the check after the reset');
  });

  test(`${mmu}: KVM_RESET_DIRTY_RINGS write-protects and flushes only what userspace harvested (flags RESET): an entry still DIRTY stops the walk and keeps its gfn writable; with nothing harvested, nothing is write-protected or flushed`, () => {
    const { inst, kvm, log, v, lines, fault } = enabled(mmu);
    const ring = log.rings![0]!;
    fault(0);
    fault(1);
    // Userspace harvests the first entry only.
    ring.dirtyGfns[0]!.flags = KVM_DIRTY_GFN_F_RESET;
    ring.fetchIndex = 1;
    lines.lines = [];
    let reset = -1;
    runAlone(inst, function* () {
      reset = yield* kvmVmIoctlResetDirtyPages(kvm, log, 1);
    });
    assert.equal(reset, 1, 'the entries reset');
    // The entry is free again (reset_index advanced) before its gfn's mask is write-protected.
    assert.deepEqual(lines.lines, [
      'reset entry [0] none needed',
      'reset mask [0] none needed',
      'wrprot gfn 0 by KVM_RESET_DIRTY_RINGS',
      // The kernel's kvm_dirty_ring_reset tracepoint: once per ring, after its last mask, whatever it reset.
      'reset ring vCPU0: 1 reset, dirty 2 reset 1',
      'reset ring vCPU1: 0 reset, dirty 0 reset 0',
      'flush KVM_RESET_DIRTY_RINGS',
      'reset returned [] done',
    ]);
    assert.equal(ring.resetIndex, 1);
    assert.deepEqual(ring.dirtyGfns[0]!.flags, 0, 'the reset entry is free again');
    assert.deepEqual(ring.dirtyGfns[1], { flags: KVM_DIRTY_GFN_F_DIRTY, slot: 0, offset: 1 }, 'the entry not harvested is left');
    assert.equal(kvm.mmu.walk(v, 0, true), -1, 'gfn 0 write-protected');
    assert.ok(kvm.mmu.walk(v, 1, true) >= 0, 'gfn 1 still writable');
    lines.lines = [];
    runAlone(inst, function* () {
      reset = yield* kvmVmIoctlResetDirtyPages(kvm, log, 2);
    });
    assert.equal(reset, 0, 'none reset');
    assert.deepEqual(
      lines.lines,
      ['reset ring vCPU0: 0 reset, dirty 2 reset 1', 'reset ring vCPU1: 0 reset, dirty 0 reset 0', 'reset returned [] none needed'],
      'nothing harvested: no write protection, no flush',
    );
    assert.equal(ring.resetIndex, 1);
  });
}

test('a reap collects every ring (DIRTY entries from the fetch index on, set RESET, their gfns recorded), then resets them, write-protecting the gfns of both vCPUs in masks and flushing once; mutant dirty-ring-reset-no-flush returns without the flush', () => {
  for (const mutant of [null, 'dirty-ring-reset-no-flush']) {
    const { inst, kvm, log, fault, lines } = enabled('tdp', mutant);
    const v1 = kvm.vcpus[1]!;
    runAlone(inst, () => kvm.mmu.reloadRoot(v1));
    fault(0);
    runAlone(inst, function* () {
      assert.equal(yield* kvmMmuPageFault(v1, 3, true), 'fixed');
    });
    lines.lines = [];
    let got: number[] = [];
    runAlone(inst, function* () {
      got = yield* kvmDirtyRingReap(kvm, log, 'migration');
    });
    assert.deepEqual(got, [0, 3]);
    assert.deepEqual(lines.lines, [
      'collect vCPU0 [0]',
      'collect vCPU1 [3]',
      'reset entry [0] none needed',
      'reset mask [0] none needed',
      'wrprot gfn 0 by KVM_RESET_DIRTY_RINGS',
      'reset ring vCPU0: 1 reset, dirty 1 reset 1',
      'reset entry [3] none needed',
      'reset mask [3] none needed',
      'wrprot gfn 3 by KVM_RESET_DIRTY_RINGS',
      'reset ring vCPU1: 1 reset, dirty 1 reset 1',
      ...(mutant === null ? ['flush KVM_RESET_DIRTY_RINGS', 'reset returned [] done'] : ['reset returned [] skipped']),
    ]);
    assert.deepEqual([...log.collected], [], "the migration's round hands what it collected to its copy");
    assert.deepEqual([...log.toCopy].sort(), [0, 3]);
    assert.equal(kvm.mutation.acted, mutant === null ? 0 : 1);
  }
});

test('kvm_dirty_ring_reset gathers entries into masks of 64 gfns both ways: an entry below the base moves the base down while the mask, shifted up, fits; one past the word ends it (offsets 100, 90, 40, 39, 41 make one mask; 10 the next, 63 + 29 bits not fitting)', () => {
  const s = parseScenario(
    'vm:\n  vcpus: 1\n  apicAccessPage: false\n  memslots: [{ id: 0, baseGfn: 0, pages: 256 }]\nworkload: { gfnCount: 256, accesses: 1 }\nhost:\n  dirtyLog: { slot: 0, mode: ring, ringSize: 8 }\n',
    'x.yaml',
  );
  const inst = createInstance(s, { settings: effectiveSettings(s, {}), mutant: null, log: false, metrics: false });
  const { kvm } = inst;
  const log = kvm.dirtyLog!;
  const ring = log.rings![0]!;
  const offsets = [100, 90, 40, 39, 41, 10];
  for (const [i, offset] of offsets.entries()) Object.assign(ring.dirtyGfns[i]!, { flags: KVM_DIRTY_GFN_F_RESET, slot: 0, offset });
  ring.dirtyIndex = ring.fetchIndex = offsets.length;
  const masks: number[][] = [];
  kvm.subscribe({ on: (ev: KvmEvent) => ev.e === 'dirtyRingReset' && ev.phase === 'mask' && masks.push(ev.gfns) });
  let reset = -1;
  runAlone(inst, function* () {
    reset = yield* kvmVmIoctlResetDirtyPages(kvm, log, 1);
  });
  assert.equal(reset, offsets.length, 'every entry reset');
  assert.deepEqual(masks, [[39, 40, 41, 90, 100], [10]]);
  assert.equal(kvm.mmuLock.stats.writeAcquires, 2, 'one mmu_lock acquisition a mask');
  assert.equal(ring.resetIndex, offsets.length);
});

test('the ring keeps its reserve above the soft limit: 8 entries reserving 3 are soft full at the 5th push; absent, a ring of a size KVM takes reserves its 64 (1024 entries: soft full at 960), a smaller one none; a reserve leaving fewer than 2 entries, or given without mode ring, is refused', () => {
  const text = (log: string) =>
    `vm:\n  vcpus: 1\n  apicAccessPage: false\n  memslots: [{ id: 0, baseGfn: 0, pages: 16 }]\nworkload: { gfnCount: 16, accesses: 1 }\nhost:\n  dirtyLog: { slot: 0, ${log} }\n`;
  const rings = (log: string) => {
    const s = parseScenario(text(log), 'x.yaml');
    const inst = createInstance(s, { settings: effectiveSettings(s, {}), mutant: null, log: false, metrics: false });
    return { kvm: inst.kvm, ring: inst.kvm.dirtyLog!.rings![0]! };
  };
  const { kvm, ring } = rings('mode: ring, ringSize: 8, ringReserve: 3');
  assert.equal(ring.softLimit, 5);
  const v = kvm.vcpus[0]!;
  for (let g = 0; g < 5; g++) {
    assert.equal(v.requests & (1 << KVM_REQ_DIRTY_RING_SOFT_FULL), 0, `not soft full before push ${g + 1}`);
    kvmDirtyRingPush(kvm, v, ring, 0, g, g, true);
  }
  assert.ok(ring.softFull() && !ring.full(), 'soft full with 3 entries still free');
  assert.notEqual(v.requests & (1 << KVM_REQ_DIRTY_RING_SOFT_FULL), 0);
  assert.equal(rings('mode: ring, ringSize: 1024').ring.softLimit, 960);
  assert.equal(rings('mode: ring, ringSize: 128').ring.softLimit, 128);
  assert.equal(rings('mode: ring').ring.softLimit, 4);
  assert.throws(() => parseScenario(text('mode: ring, ringSize: 8, ringReserve: 7'), 'x.yaml'), /host\.dirtyLog\.ringReserve.*at most 6/);
  assert.throws(() => parseScenario(text('ringReserve: 1'), 'x.yaml'), /host\.dirtyLog\.ringReserve.*taken only with mode ring/);
});

test('lost-dirty-write with rings, judged at the end: a write to a gfn a ring holds uncollected, or the VMM holds collected, is not lost; harvested (RESET) and copied before the write, with nothing collected or to copy, it is', () => {
  const judge = (after: (w: ReturnType<typeof world>) => void) => {
    const w = world('tdp');
    w.log.enabled = true;
    w.log.copied(w.kvm.memslots.gfnToMemslot(0)!, 0, 1);
    w.kvm.emit({ e: 'guestAccess', vcpu: 0, gfn: 0, pfn: 0x1000, write: true, via: 'tlb' });
    after(w);
    w.inst.finish();
    return w.inst.violations;
  };
  assert.deepEqual(
    judge((w) => Object.assign(w.log.rings![1]!.dirtyGfns[1]!, { flags: KVM_DIRTY_GFN_F_DIRTY, slot: 0, offset: 0 })),
    [],
    "an uncollected entry of gfn 0 (in any vCPU's ring): a collection reports it",
  );
  assert.deepEqual(
    judge((w) => w.log.collected.add(0)),
    [],
    "collected, not yet handed to the copy: the migration's next round copies it",
  );
  const harvested = judge((w) => Object.assign(w.log.rings![0]!.dirtyGfns[0]!, { flags: KVM_DIRTY_GFN_F_RESET, slot: 0, offset: 0 }));
  assert.equal(harvested.length, 1, 'an entry harvested (RESET) is no report: its collection came before');
  assert.equal(harvested[0]!.kind, 'lost-dirty-write');
  assert.match(
    harvested[0]!.message,
    /^vCPU0 wrote gfn 0x0 through its TLB and reached pfn 0x1000 without a fault at 0ns, the VMM's last copy of the page coming before it \(in copy round #1, after the dirty rings' collection reported it\), and by the end no dirty ring holds gfn 0x0 uncollected, with no copy or mark of it still to come: no collection will report this write, and the migrated copy lacks it \(vCPU0's TLB entry still allowed writes\)$/,
  );
});

test('run dirty-ring-mini (seed 1, both MMUs): no violation, the vCPUs leave with KVM_EXIT_DIRTY_RING_FULL and reap; a run cut by maxSteps after any step reports none (entries uncollected, gfns collected, copies still to come count)', () => {
  const s = loadScenario('dirty-ring-mini');
  for (const mmu of ['tdp', 'shadow'] as const) {
    const all = simulate(s, { settings: effectiveSettings(s, { mmu }), mutant: null, seed: 1 });
    assert.deepEqual(all.violations, [], mmu);
    assert.ok((all.metrics.dirtyLog?.ring?.fullExits ?? 0) > 0, `${mmu}: a soft-full exit`);
    for (let n = 1; n < all.steps; n++) {
      const r = simulate(s, { settings: effectiveSettings(s, { mmu }), mutant: null, seed: 1, maxSteps: n });
      assert.deepEqual(r.violations, [], `${mmu} cut after ${n} steps`);
    }
  }
});

test('host.dirtyLog.mode and ringSize: a bad mode, protect with ring, ringSize without ring, or a ringSize not a power of two is refused at the field; absent, a scenario digests as before', () => {
  const base = 'vm:\n  vcpus: 1\n  memslots: [{ id: 0, baseGfn: 0, pages: 1 }]\nworkload: { gfnCount: 1 }\nhost:\n  dirtyLog: ';
  const refused = (log: string, field: string, message: RegExp) => {
    assert.throws(
      () => parseScenario(`${base}${log}\n`, 'x.yaml'),
      (e: Error) => e.message.includes(`host.dirtyLog.${field}`) && message.test(e.message),
      `${log}: ${field}`,
    );
  };
  refused('{ slot: 0, mode: rings }', 'mode', /expected one of "bitmap", "ring"/);
  refused('{ slot: 0, mode: ring, protect: manual }', 'protect', /not taken with mode ring/);
  refused('{ slot: 0, ringSize: 4 }', 'ringSize', /taken only with mode ring/);
  refused('{ slot: 0, mode: ring, ringSize: 3 }', 'ringSize', /power of two/);
  refused('{ slot: 0, mode: ring, ringSize: 1 }', 'ringSize', /2/);
  const plain = parseScenario(`${base}{ slot: 0 }\n`, 'x.yaml');
  assert.equal(plain.host.dirtyLog!.mode, undefined);
  assert.equal('ringSize' in plain.host.dirtyLog!, false);
});
