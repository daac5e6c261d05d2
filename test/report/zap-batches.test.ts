import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent } from '../../src/kvm/events.js';
import { PerfettoSink } from '../../src/report/perfetto.js';
import { loadScenario } from '../../src/scenario/load.js';
import { Events, runWith } from './fixtures.js';
import { LIVELOCK_SCENARIO } from './livelock.js';
import type { TraceEvent } from './trace-check.js';

// Regression (probe of threads 000/002): kvm_zap_obsolete_pages said its zapped pages once, at the
// end, summed over every lock break: memslot-zap-livelock's Perfetto trace had one slice
// "kvm_zap_obsolete_pages: 103602 page(s)" of 1.84 µs (the last batch's time, the walk's count),
// and a counterexample printed "zapped 2 page(s)" after the restarted walk, for pages zapped
// before the break. Each batch, up to a lock break or the walk's end, is its own event now.
test('the fast zap says each batch it zaps between lock breaks: at least BATCH_ZAP_PAGES each, one per break and the last, summing to the walk', () => {
  const events = new Events();
  const r = runWith(loadScenario(LIVELOCK_SCENARIO), [events], { seed: 1, settings: { memslotFlush: 'zap-all-fast' } });
  assert.equal(r.metrics.zapAll.completed, 1);
  const of = <K extends KvmEvent['e']>(e: K) => events.seen.filter((ev): ev is Extract<KvmEvent, { e: K }> => ev.e === e);
  const breaks = of('lockBreak').filter((ev) => ev.holder === 'kvm_zap_obsolete_pages');
  const batches = of('zapBatch');
  assert.ok(breaks.length > 10, `breaks ${breaks.length}`);
  assert.equal(batches.filter((b) => b.lockBreak).length, breaks.length);
  assert.equal(batches.length, breaks.length + 1);
  for (const b of batches.slice(0, -1)) assert.ok(b.pages >= 10 && b.pages <= 40, `batch of ${b.pages}`);
  assert.equal(batches.at(-1)!.lockBreak, false);
  // Each batch ends before its break's re-take: the break follows it.
  const order = events.seen.filter((ev) => ev.e === 'zapBatch' || (ev.e === 'lockBreak' && ev.holder === 'kvm_zap_obsolete_pages')).map((ev) => ev.e);
  for (let i = 0; i + 1 < order.length; i += 2) assert.deepEqual(order.slice(i, i + 2), ['zapBatch', 'lockBreak']);
  // The batches are the walk's pages: all the zapped ones but those a vCPU zapped (its obsolete root's last put).
  const sum = batches.reduce((n, b) => n + b.pages, 0);
  assert.ok(sum <= r.metrics.shadowPages.zapped && sum >= r.metrics.shadowPages.zapped - 20, `${sum} of ${r.metrics.shadowPages.zapped}`);
});

// The first batch was drawn as a point: its start was read at the end, from the last lock break's mark.
test("each fast-zap batch is a Perfetto slice of its own time: from the zap's begin or the lock break before it, none empty", () => {
  const s = loadScenario(LIVELOCK_SCENARIO);
  const sink = new PerfettoSink(s.name);
  const r = runWith(s, [sink], { seed: 1, settings: { memslotFlush: 'zap-all-fast' } });
  const slices = (JSON.parse([...sink.render({ endNs: r.simTimeNs })].join('')) as { traceEvents: TraceEvent[] }).traceEvents.filter(
    (e) => e.cat === 'zap-batch',
  );
  assert.ok(slices.length > 10);
  for (const e of slices) assert.ok((e.dur ?? 0) > 0, `${e.name} at ${e.ts}: dur ${e.dur}`);
});
