import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeRun } from '../../src/cli/summary.js';
import { renderRunReport } from '../../src/report/html-run.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith } from '../report/fixtures.js';

// Probe of thread 000 (helper-115, finding c): the run summary did not say mmu_valid_gen, the fast zap's subject:
// its value at the end and how often kvm_mmu_zap_all_fast toggled it. Under zap-fast-no-generation-bump a fast
// zap ran and toggled nothing: 0 toggles is the mutant's tell.
const genRow = (text: string) => text.split('\n').find((x) => x.startsWith('mmu_valid_gen at the end, toggles'));

test('the summary, the JSON and the report say mmu_valid_gen at the end and its toggles', () => {
  const r = runWith(loadScenario('memslot-delete-mini'), [], { seed: 1 });
  assert.deepEqual([r.metrics.zapAll.validGen, r.metrics.zapAll.validGenToggles], [1, 1]);
  assert.match(genRow(summarizeRun(r)) ?? '', / 1, 1$/);
  assert.match(renderRunReport(r), /data-metric="zapAll.validGenToggles" data-value="1"/);
  const m = runWith(loadScenario('memslot-delete-mini'), [], { seed: 1, mutant: 'zap-fast-no-generation-bump' });
  assert.deepEqual([m.metrics.zapAll.validGen, m.metrics.zapAll.validGenToggles], [0, 0]);
  assert.match(genRow(summarizeRun(m)) ?? '', / 0, 0$/);
  // No fast zap, no row.
  const slot = runWith(loadScenario('memslot-delete-mini'), [], { seed: 1, settings: { memslotFlush: 'zap-slot' } });
  assert.equal(genRow(summarizeRun(slot)), undefined);
});
