import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeRun } from '../../src/cli/summary.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { LIVELOCK_SCENARIO } from '../report/livelock.js';

test("run's table keeps to 80 columns when the run livelocks: what stalled goes on a line below it (a probe: the stalled message widened every row to 128 columns)", () => {
  // The report tests' small memslot-zap-livelock (8 vCPUs, livelock declared after 1 ms).
  const s = loadScenario(LIVELOCK_SCENARIO);
  const settings = { ...effectiveSettings(s), memslotFlush: 'zap-all-lockbreak' as const };
  const r = simulate(s, { settings, mutant: null, seed: 1 });
  assert.equal(r.progress.livelock, true);
  const lines = summarizeRun(r).split('\n');
  // The table, from its heading (the settings above it are lines of their own) to the line after it.
  const table = lines.slice(
    lines.findIndex((l) => l.startsWith('metric ')),
    lines.findIndex((l) => l.startsWith('LIVELOCK: ')),
  );
  assert.ok(table.length > 5);
  for (const l of table) assert.ok(l.length <= 80, `${l.length} columns: ${l}`);
  assert.match(lines.find((l) => l.startsWith('livelock'))!, /YES \(below\)$/);
  assert.equal(lines.filter((l) => l.startsWith('LIVELOCK: ')).length, 1);
  // Its times as the table's are (a probe: 'no completion for 20068495 ns'); the JSON keeps the ns.
  // And the zap the run started and never finished (helper-103's probe: a fault retrying on the
  // invalid memslot was named, not the lock-break zap-all it waited on); the JSON keeps what stalled.
  assert.match(
    lines.find((l) => l.startsWith('LIVELOCK: '))!,
    /^LIVELOCK: memslot 2 delete: no completion for \d\.\d\dms, no progress for the last \d\.\d\dms; a zap-all\/memslot zap never finished \(completed 0 of 1 started\)$/,
  );
  assert.match(r.progress.stalled ?? '', /^memslot 2 delete: no completion for \d+ ns, no progress for the last \d+ ns$/);
  // A simulated run's livelock is progress.livelock, not a violation (README, Result JSON).
  assert.deepEqual(r.violations, []);
});
