import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { resize } from '../../src/scenario/size.js';
import { simulate } from '../../src/simulate/simulate.js';

function run(warmPages: number) {
  const s = parseScenario(
    `vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 1048576 }] }\nworkload: { gfnCount: 1048576, accesses: 1, processes: 1, warmPages: ${warmPages} }\nsettings: { mmu: shadow }\nstop: { timeNs: 100000000 }\n`,
    'warm.yaml',
  );
  return simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 });
}

test("metrics: the warm start's mmu_lock acquisitions are not counted (the metrics start with the run)", () => {
  const cold = run(0);
  const warm = run(500);
  assert.equal(warm.metrics.faults.total, cold.metrics.faults.total);
  // 500 warm pages took mmu_lock 500 times before the run: 502 acquisitions were reported.
  assert.ok(
    warm.metrics.mmuLock.writeAcquires <= cold.metrics.mmuLock.writeAcquires,
    `${warm.metrics.mmuLock.writeAcquires} vs ${cold.metrics.mmuLock.writeAcquires}`,
  );
  assert.ok(warm.metrics.mmuLock.writeAcquires > 0);
});

for (const warmPages of [0, 1, 64]) {
  test(`metrics under TDP, warmPages ${warmPages}: no shadow pages (a probe found peak 4 and 67, the TDP page tables of the warm start)`, () => {
    const s = parseScenario(
      `vm: { vcpus: 2, memslots: [{ id: 0, baseGfn: 0, pages: 262144 }] }\nworkload: { gfnStart: 0, gfnCount: 262144, warmPages: ${warmPages} }\nstop: { timeNs: 200000 }\n`,
      'tw.yaml',
    );
    const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 });
    assert.equal(r.settings.mmu, 'tdp');
    assert.deepEqual(r.metrics.shadowPages, { created: 0, zapped: 0, peak: 0, recycled: 0 });
  });
}

test('metrics under shadow paging: the warm start counts in the peak', () => {
  assert.ok(run(500).metrics.shadowPages.peak > run(0).metrics.shadowPages.peak);
});

test('fault latency runs from the first EPT violation of the access it resolves (a probe: a fault retried, then resolved by an access that went through, left its start set, and the next fault on another gfn counted from it: max 92,955 ns where 36,360)', () => {
  const s = resize(loadScenario('apic-page-reload'), { vcpus: 16 });
  /** Per vCPU, the time and gfn of the first faultBegin of each episode, and each latency reported. */
  const begun = new Map<number, { ts: number; gfn: number }>();
  const ended: { vcpu: number; gfn: number; ts: number; latencyNs: number }[] = [];
  let resolved = 0;
  const sink: Sink = {
    on(ev: KvmEvent, at: EventStamp) {
      if (ev.e === 'faultBegin' && !begun.has(ev.vcpu)) begun.set(ev.vcpu, { ts: at.ts, gfn: ev.gfn });
      const done = (ev.e === 'faultEnd' && !ev.ret.startsWith('retry')) || ev.e === 'faultResolved';
      if (!done) return;
      if (ev.e === 'faultResolved') resolved++;
      ended.push({ vcpu: ev.vcpu, gfn: ev.gfn, ts: at.ts, latencyNs: ev.latencyNs });
      const b = begun.get(ev.vcpu)!;
      begun.delete(ev.vcpu);
      assert.equal(ev.gfn, b.gfn, `vCPU${ev.vcpu}: resolved gfn 0x${ev.gfn.toString(16)} whose episode began on gfn 0x${b.gfn.toString(16)}`);
      assert.ok(Math.abs(at.ts - ev.latencyNs - b.ts) < 1e-6, `vCPU${ev.vcpu}: latency ${ev.latencyNs} at ${at.ts}, episode began at ${b.ts}`);
    },
  };
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1, sinks: [sink] });
  assert.ok(resolved > 0, 'some retried access went through without another fault');
  assert.equal(r.metrics.faults.latencyNs.max, Math.max(...ended.map((e) => e.latencyNs)));
});

test('guest.accesses counts the accesses KVM emulated, as the vCPUs count them against their budget (a probe: root-zap-mini said 1 of its 2 x 6)', () => {
  const s = loadScenario('root-zap-mini');
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1 });
  assert.ok(r.metrics.faults.emulated > 0);
  assert.equal(r.metrics.guest.accesses, s.vm.vcpus * s.workload.accesses);
});

test("APIC stalls: the figures and the drawn slices read the same bounds; a stall the slot's going ends is over there, not at the vCPU's next reload (metrics kept it open, so stalledNs counted on past the slices)", async () => {
  const { Metrics } = await import('../../src/simulate/metrics.js');
  const { ApicStallRecorder } = await import('../../src/report/apic-stalls.js');
  const m = new Metrics();
  const rec = new ApicStallRecorder();
  const feed = (ts: number, outcome: 'retry' | 'set' | 'no-slot', pfn = -1) => {
    const ev: KvmEvent = { e: 'apicReload', vcpu: 0, pfn, outcome };
    const at: EventStamp = { ts, step: ts, tid: 1 };
    m.on(ev, at);
    rec.on(ev, at);
  };
  feed(100, 'retry');
  feed(150, 'retry');
  feed(400, 'no-slot');
  feed(1_000, 'set', 7);
  feed(2_000, 'retry');
  feed(2_500, 'set', 8);
  feed(3_000, 'retry');
  m.closeAt(3_200);
  const slices = rec.finish(3_200);
  assert.deepEqual(
    slices.map((s) => [s.start, s.end, s.unfinished]),
    [
      [100, 400, false],
      [2_000, 2_500, false],
      [3_000, 3_200, true],
    ],
  );
  assert.equal(m.apicStalls, 3);
  assert.equal(
    m.apicStalledNs,
    slices.reduce((a, s) => a + s.end - s.start, 0),
  );
  assert.equal(m.apicStallMaxNs, 500);
  assert.equal(m.apicReloads, 2);
  assert.equal(m.apicReRequests, 4);
});
