import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockIntervals } from '../../src/report/attach.js';
import { PerfettoSink } from '../../src/report/perfetto.js';
import { SpanRecorder } from '../../src/report/spans.js';
import type { KvmInstance } from '../../src/scenario/instantiate.js';
import { runWith, shortScenario } from './fixtures.js';
import type { TraceEvent } from './trace-check.js';

const WRITE = 1;

/** A run of `name` to `timeNs` (seed 1) with a Perfetto sink: the trace's events, the metrics and the lock's raw intervals. */
function traced(name: string, timeNs: number) {
  const s = shortScenario(name, timeNs);
  const sink = new PerfettoSink(s.name);
  let inst: KvmInstance | null = null;
  const result = runWith(s, [sink, { on() {}, attach: (i: KvmInstance) => (inst = i) }], { seed: 1 });
  const events = (JSON.parse([...sink.render({ endNs: result.simTimeNs })].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
  return { result, events, lock: lockIntervals(inst!) };
}

const slicesOf = (events: TraceEvent[], cat: string) => events.filter((e) => e.ph === 'X' && e.cat === cat);
const ns = (us: number) => Math.round(us * 1000);

// Regression (a probe): a wait ended at the first hold of its thread starting at or after
// the wait's start, and a zero-long hold that ended as the wait began (vCPU4 of
// memslot-zap-livelock holding [2,038,640, 2,038,640] then waiting to 2,043,440) made it 0 long.
test('spans: a wait that starts as a zero-long hold of its thread ends at the hold it waited for', () => {
  const holds = [2_038_640, 2_038_640, WRITE, 4, 2_043_440, 2_045_000, WRITE, 4];
  const waits = [2_038_640, 2_043_440, WRITE, 4];
  const spans = new SpanRecorder().finish(2_100_000, { holds, waits });
  const wait = spans.filter((s) => s.kind === 'lock-wait').map((s) => [s.start, s.end]);
  assert.deepEqual(wait, [[2_038_640, 2_043_440]]);
  assert.equal(spans.filter((s) => s.kind === 'lock-hold').length, 2);
});

test('perfetto memslot-zap-livelock seed 1 to 2.1 ms: every mmu_lock wait slice is the model wait interval (none cut to 0 by a zero-long hold)', () => {
  const { events, lock } = traced('memslot-zap-livelock', 2_100_000);
  const raw: string[] = [];
  for (let i = 0; i < lock.waits.length; i += 4) raw.push(`${lock.waits[i + 3]}:${lock.waits[i]}-${lock.waits[i + 1]}`);
  const drawn = slicesOf(events, 'lock-wait').map((e) => `${e.tid! - 2}:${ns(e.ts!)}-${ns(e.ts! + e.dur!)}`);
  assert.ok(raw.length > 1000, `${raw.length} waits`);
  assert.ok(
    lock.holds.some((_, i) => i % 4 === 0 && lock.holds[i] === lock.holds[i + 1]),
    'the run has zero-long holds',
  );
  assert.deepEqual(drawn.sort(), raw.sort());
});
