import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PerfettoSink } from '../../src/report/perfetto.js';
import { RetryCauses } from '../../src/report/retry-cause.js';
import { runWith, shortScenario } from './fixtures.js';
import type { TraceEvent } from './trace-check.js';

// Regression (a probe): apic-page-reload seed 1 drew 1,522 retry arrows for 1,523 retries.
// apic-migrate's invalidation widened the in-progress range to gfns [0x17e,0xfee01) and
// ended while another was in progress; the range is reset only when none is, so vCPU1's
// fault on gfn 0x3a0 (in neither one's own range, after the seq bump) retried at 866,585 ns
// and was blamed on nothing.
test('retry causes apic-page-reload seed 1 to 1 ms: a retry in the range an ended invalidation widened is blamed on it', () => {
  const causes = new RetryCauses();
  runWith(shortScenario('apic-page-reload', 1_000_000), [{ on: (ev, at) => causes.on(ev, at), attach() {} }], { seed: 1 });
  assert.deepEqual(
    causes.retried.filter((f) => f.cause === null),
    [],
  );
  const f = causes.retried.find((x) => x.end === 866_585 && x.gfn === 0x3a0)!;
  assert.equal(f.cause?.why, 'range');
  // The apic-migrate thread (tid 5), moving the APIC-access page.
  assert.equal(f.cause.inv.tid, 5);
  assert.equal(f.cause.inv.end < f.start, true);
  assert.deepEqual([f.cause.inv.gfnStart, f.cause.inv.gfnEnd], [0x17e, 0xfee01]);
});

test('perfetto apic-page-reload seed 1: one retry arrow per fault that retried for an invalidation', () => {
  const s = shortScenario('apic-page-reload', 10_000_000);
  const sink = new PerfettoSink(s.name);
  const result = runWith(s, [sink], { seed: 1 });
  const events = (JSON.parse([...sink.render({ endNs: result.simTimeNs })].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
  const m = result.metrics.faults;
  assert.equal(events.filter((e) => e.ph === 's' && e.cat === 'retry').length, m.retriesBeforeLock + m.retriesUnderLock);
  assert.ok(events.some((e) => e.ph === 's' && e.name!.startsWith('retry: in the mmu_invalidate range')));
});
