import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent, RetPf, Sink } from '../../src/kvm/events.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/schema.js';
import type { RunResult } from '../../src/simulate/result.js';
import { simulate } from '../../src/simulate/simulate.js';

/** Counts the events the fault figures are made of, as the kernel's stats and tracepoints would. */
class FaultEvents implements Sink {
  readonly kinds: readonly KvmEvent['e'][] = ['faultBegin', 'faultEnd', 'mmioCheck', 'rootAlloc', 'rootInvalidate'];
  begun = 0;
  readonly ends = new Map<RetPf, number>();
  fastPath = 0;
  afterZap = 0;
  invalidatedInUse = 0;
  /** Each fault that ended RET_PF_EMULATE: its latency and the retries before it. */
  readonly emulates: { latencyNs: number; retries: number }[] = [];
  on(ev: KvmEvent, _at: EventStamp): void {
    if (ev.e === 'faultBegin') this.begun++;
    else if (ev.e === 'faultEnd') {
      this.ends.set(ev.ret, (this.ends.get(ev.ret) ?? 0) + 1);
      if (ev.ret === 'emulate') this.emulates.push({ latencyNs: ev.latencyNs, retries: ev.retries });
    } else if (ev.e === 'mmioCheck' && ev.match) this.fastPath++;
    else if (ev.e === 'rootAlloc' && ev.afterZap === true) this.afterZap++;
    else if (ev.e === 'rootInvalidate' && ev.inUse) this.invalidatedInUse++;
  }
  end(ret: RetPf): number {
    return this.ends.get(ret) ?? 0;
  }
}

function run(s: Scenario, mmu: 'tdp' | 'shadow', maxSteps?: number): { r: RunResult; ev: FaultEvents } {
  const ev = new FaultEvents();
  const r = simulate(s, { settings: effectiveSettings(s, { mmu }), mutant: null, seed: 1, sinks: [ev], ...(maxSteps !== undefined ? { maxSteps } : {}) });
  return { r, ev };
}

/** The user probe's scenario: memslot 1 deleted at 1.5 µs while both vCPUs touch it. */
const PROBE = 'test/fixtures/memslot-delete-probe.yaml';

const BUILTINS: [string, number][] = [
  ['memslot-delete-mini', 1_000_000],
  ['mmio-gen-mini', 1_000_000],
  ['mmio-sync-mini', 1_000_000],
  ['fault-vs-invalidation-mini', 1_000_000],
  ['memslot-delete-lockbreak-mini', 1_000_000],
  ['root-zap-mini', 1_000_000],
  ['slot-zap-accounting', 300_000],
  ['root-zap-on-process-exit', 300_000],
  ['memslot-move-follow', 2_400_000],
];

for (const [name, timeNs] of BUILTINS) {
  for (const mmu of ['tdp', 'shadow'] as const) {
    test(`faults add up (${name}, ${mmu}, ${timeNs / 1000} µs): total = fixed + spurious + emulated + retries + injectedPf + inFlight, each the count of its faultEnd (a probe: memslot-delete-mini's emulated 18 held 9 MMIO fast-path hits that total did not)`, () => {
      const s = loadScenario(name);
      s.stop.timeNs = timeNs;
      const { r, ev } = run(s, mmu);
      const f = r.metrics.faults;
      assert.equal(f.total, f.fixed + f.spurious + f.emulated + f.retries + f.injectedPf + f.inFlight, JSON.stringify(f));
      assert.equal(f.retries, f.retriesBeforeLock + f.retriesUnderLock + f.retriesInvalidSlot + f.retriesGpteChanged);
      // pf_taken: every kvm_mmu_do_page_fault, which the MMIO fast path's hits never reach.
      assert.equal(f.total, ev.begun);
      assert.equal(f.fixed, ev.end('fixed'));
      assert.equal(f.spurious, ev.end('spurious'));
      assert.equal(f.emulated, ev.end('emulate'));
      assert.equal(f.injectedPf, ev.end('inject-pf'));
      assert.equal(f.retriesInvalidSlot, ev.end('retry-invalid-slot'));
      assert.equal(f.retriesGpteChanged, ev.end('retry-gpte-changed'));
      assert.equal(r.metrics.mmio.fastPath, ev.fastPath);
      assert.equal(f.inFlight, ev.begun - [...ev.ends.values()].reduce((a, b) => a + b, 0));
    });
  }
}

test('memslot-delete-mini (seed 1, shadow): 26 faults = 8 fixed + 9 retried on the invalid slot + 9 emulated; the 9 MMIO fast-path emulations are mmio.fastPath, no fault (were faults.emulated 18)', () => {
  const { r } = run(loadScenario('memslot-delete-mini'), 'shadow');
  const f = r.metrics.faults;
  assert.deepEqual(
    [f.total, f.fixed, f.retriesInvalidSlot, f.emulated, f.inFlight, r.metrics.mmio.fastPath, r.metrics.guest.accesses],
    [26, 8, 9, 9, 0, 9, 32],
  );
});

test('faults.inFlight: a run stopped with faults in the fault path says how many (root-zap-on-process-exit, shadow, 20 ms: 31,627 faults, 31,624 ends)', () => {
  const { r, ev } = run(loadScenario('root-zap-on-process-exit'), 'shadow');
  const f = r.metrics.faults;
  const ended = [...ev.ends.values()].reduce((a, b) => a + b, 0);
  assert.equal(f.total, 31_627);
  assert.equal(ended, 31_624);
  assert.equal(f.inFlight, 3);
  assert.equal(f.total, f.fixed + f.spurious + f.emulated + f.retries + f.injectedPf + f.inFlight);
});

test('a run cut mid-fault by --max-steps counts the fault begun as in flight', () => {
  const s = loadScenario(PROBE);
  let seen = 0;
  for (let steps = 1; steps < 120; steps++) {
    const { r, ev } = run(s, 'tdp', steps);
    const f = r.metrics.faults;
    assert.equal(f.total, f.fixed + f.spurious + f.emulated + f.retries + f.injectedPf + f.inFlight, `max-steps ${steps}`);
    if (f.inFlight > 0) seen++;
    assert.equal(f.inFlight, ev.begun - [...ev.ends.values()].reduce((a, b) => a + b, 0));
  }
  assert.ok(seen > 0, 'some cut left a fault in flight');
});

for (const mmu of ['tdp', 'shadow'] as const) {
  test(`fault latency counts faults that ended RET_PF_EMULATE after retrying on a memslot being deleted (${mmu}; a probe: TDP said max 3.5 µs while vCPU0's gfn 6 took 22.6 µs and 8 retries)`, () => {
    const { r, ev } = run(loadScenario(PROBE), mmu);
    const stalled = ev.emulates.filter((e) => e.retries > 0);
    assert.ok(stalled.length > 0, 'an emulated fault that retried first');
    const longest = Math.max(...ev.emulates.map((e) => e.latencyNs));
    assert.ok(longest > 20_000, `${longest} ns`);
    assert.equal(r.metrics.faults.latencyNs.max, longest);
    if (mmu === 'tdp')
      assert.deepEqual(
        stalled.map((e) => [e.latencyNs, e.retries]).sort(),
        [
          [19_690, 6],
          [22_625, 8],
        ].sort(),
      );
  });
}

test('TDP: roots.reloadsAfterZap and roots.zappedInUse count the fast zap of the root both vCPUs held, as under shadow paging (were 0 / 0; shadow 2 / 2)', () => {
  const s = loadScenario(PROBE);
  const tdp = run(s, 'tdp');
  assert.equal(tdp.r.metrics.roots.reloadsAfterZap, 2);
  assert.equal(tdp.r.metrics.roots.reloadsAfterZap, tdp.ev.afterZap);
  // One root, held by both vCPUs, marked invalid by kvm_tdp_mmu_invalidate_all_roots.
  assert.equal(tdp.r.metrics.roots.zappedInUse, 1);
  assert.equal(tdp.r.metrics.roots.zappedInUse, tdp.ev.invalidatedInUse);
  const shadow = run(s, 'shadow');
  assert.equal(shadow.r.metrics.roots.reloadsAfterZap, 2);
  assert.equal(shadow.r.metrics.roots.zappedInUse, 2);
});
