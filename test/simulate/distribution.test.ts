import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { Distribution, EXACT_DISTINCT } from '../../src/simulate/distribution.js';
import { simulate } from '../../src/simulate/simulate.js';

/** Nearest-rank percentile, as Distribution (and HDR) rank: the floor(p/100 * n + 0.5)-th smallest. */
function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.floor((p / 100) * sorted.length + 0.5)) - 1]!;
}

test('distribution: max and percentiles are the values recorded, not the tops of histogram buckets (a probe: 16943 for 16940, 3501 for 3500)', () => {
  const d = new Distribution();
  for (let i = 0; i < 10; i++) d.record(3500);
  d.record(16940);
  assert.deepEqual(d.summary(), { p50: 3500, p90: 3500, p99: 16940, max: 16940 });
  assert.equal(d.min, 3500);
  assert.equal(d.percentilesExact, true);
});

test('distribution: empty is all 0; a sub-ns sample rounds', () => {
  const d = new Distribution();
  assert.deepEqual(d.summary(), { p50: 0, p90: 0, p99: 0, max: 0 });
  d.record(0.4);
  assert.deepEqual(d.summary(), { p50: 0, p90: 0, p99: 0, max: 0 });
  assert.equal(d.count, 1);
});

test(`distribution: past ${EXACT_DISTINCT} distinct values the percentiles are HDR estimates (at most 0.1% high, never above max); max stays exact`, () => {
  const d = new Distribution();
  const all: number[] = [];
  for (let i = 0; i < 3 * EXACT_DISTINCT; i++) {
    const v = 100_000 + ((i * 7919) % 50_000);
    all.push(v);
    d.record(v);
  }
  all.sort((a, b) => a - b);
  assert.equal(d.percentilesExact, false);
  assert.equal(d.max, all[all.length - 1]);
  assert.equal(d.min, all[0]);
  for (const p of [50, 90, 99]) {
    const exact = nearestRank(all, p);
    const est = d.percentile(p);
    assert.ok(est >= exact && est <= exact * 1.001 && est <= d.max, `p${p}: ${est} vs ${exact}`);
  }
});

/** Keeps every resolved fault's latency and every invalidation's duration, as the run sees them. */
class Observed implements Sink {
  readonly latencies: number[] = [];
  readonly durations: number[] = [];
  private readonly since = new Map<number, number>();
  on(ev: KvmEvent, at: EventStamp): void {
    if (ev.e === 'faultEnd' && (ev.ret === 'fixed' || ev.ret === 'spurious')) this.latencies.push(ev.latencyNs);
    else if (ev.e === 'invalidateRangeStart') this.since.set(at.tid, at.ts);
    else if (ev.e === 'invalidateRangeEnd') this.durations.push(at.ts - this.since.get(at.tid)!);
  }
}

test('run metrics seed 7: fault latency and invalidation time p50/p90/p99/max are those of the faults and invalidations the run traced', () => {
  const s = loadScenario('test/fixtures/small.yaml');
  const seen = new Observed();
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 7, sinks: [seen] });
  for (const [what, got, values] of [
    ['faults.latencyNs', r.metrics.faults.latencyNs, seen.latencies],
    ['invalidations.durationNs', r.metrics.invalidations.durationNs, seen.durations],
  ] as const) {
    const sorted = values.map(Math.round).sort((a, b) => a - b);
    assert.ok(sorted.length > 10, `${what}: ${sorted.length} samples`);
    const want = { p50: nearestRank(sorted, 50), p90: nearestRank(sorted, 90), p99: nearestRank(sorted, 99), max: sorted[sorted.length - 1] };
    assert.deepEqual(got, want, what);
  }
});
