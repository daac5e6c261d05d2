import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { parseScenario } from '../../src/scenario/load.js';
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
    assert.deepEqual(r.metrics.shadowPages, { created: 0, zapped: 0, peak: 0 });
  });
}

test('metrics under shadow paging: the warm start counts in the peak', () => {
  assert.ok(run(500).metrics.shadowPages.peak > run(0).metrics.shadowPages.peak);
});
