import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeRun } from '../../src/cli/summary.js';
import { METRIC_ROWS } from '../../src/report/metric-rows.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith } from './fixtures.js';
import { LIVELOCK_SCENARIO } from './livelock.js';

// Regression (probe of threads 000/002): memslot-zap-livelock under zap-all-lockbreak said
// "memslot changes 0" (text, HTML, JSON) for the delete that began and hung in kvm_mmu_zap_all:
// a change that never completed was not counted at all.
test('a memslot change that hangs in the lock-break zap-all counts as started, not completed', () => {
  const r = runWith(loadScenario(LIVELOCK_SCENARIO), [], { seed: 1, settings: { memslotFlush: 'zap-all-lockbreak' } });
  assert.ok(r.progress.livelock, 'the fixture livelocks');
  assert.deepEqual(r.metrics.memslots, { started: 1, changes: 0 });
  const rows = METRIC_ROWS.filter((row) => row.group === 'Memslots').map((row) => [row.label, row.get(r), row.bad?.(r) ?? false]);
  assert.deepEqual(rows, [
    ['memslot changes started', 1, false],
    ['memslot changes completed', 0, true],
  ]);
  assert.match(summarizeRun(r), /memslot changes started\/done +1 \/ 0\n/);
  const fast = runWith(loadScenario(LIVELOCK_SCENARIO), [], { seed: 1, settings: { memslotFlush: 'zap-all-fast' } });
  assert.deepEqual(fast.metrics.memslots, { started: 1, changes: 1 });
});
