import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PerfettoSink } from '../../src/report/perfetto.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith } from './fixtures.js';
import { LIVELOCK_SCENARIO } from './livelock.js';
import type { TraceEvent } from './trace-check.js';

// Regression (probe of threads 000/002): the `roots` counter (roots some vCPU holds, root_count > 0)
// was sampled when a root was loaded or freed, not when a vCPU put one: in memslot-zap-livelock it
// fell from 16 to 5 at once, at the first root freed after the fast zap, though the vCPUs had put
// their obsolete roots one by one (kvm_mmu_free_obsolete_roots) before.
test('the Perfetto roots counter follows each root a vCPU puts: it moves by one at a time around the fast zap', () => {
  const s = loadScenario(LIVELOCK_SCENARIO);
  const sink = new PerfettoSink(s.name);
  const r = runWith(s, [sink], { seed: 1, settings: { memslotFlush: 'zap-all-fast' } });
  assert.equal(r.metrics.zapAll.completed, 1);
  const text = [...sink.render({ endNs: r.simTimeNs })].join('');
  const values = (JSON.parse(text) as { traceEvents: TraceEvent[] }).traceEvents
    .filter((e) => e.ph === 'C' && e.name === 'roots')
    .map((e) => (e.args as { value: number }).value);
  assert.ok(values.length > 2 && Math.min(...values) < Math.max(...values), String(values));
  for (let i = 1; i < values.length; i++) assert.ok(Math.abs(values[i]! - values[i - 1]!) <= 1, `${values[i - 1]} then ${values[i]}: ${values.join(' ')}`);
});
