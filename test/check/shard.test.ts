import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ExploreResult, explore } from '../../src/check/explore.js';
import { type ExplorePart, mergeParts } from '../../src/check/merge.js';
import { ownedBelow, subShard } from '../../src/check/shard.js';
import { makeStrategy, type StrategySpec } from '../../src/check/strategies.js';
import { factoryFor } from '../../src/cli/check-factory.js';

const SIZE = ['vcpus=2', 'invalidations=1', 'faultsPerVcpu=1'];
const good = factoryFor('fault-vs-invalidation-mini', SIZE, null);
const bad = factoryFor('fault-vs-invalidation-mini', SIZE, 'fault-skip-range-check');

/** The figures that must agree (not wall times). */
function figures(s: ExploreResult['summary']) {
  const { wallMs: _w, executionsPerSec: _e, firstCounterexampleMs: _f, ...rest } = s;
  return rest;
}

/** Runs `spec` unsharded (as shard 0/1, which splits dfs the same way) and as 3 shards, and merges those. */
function compare(spec: StrategySpec, factory: typeof good, maxExecutions?: number) {
  const whole = explore(factory, makeStrategy(spec, 1, { index: 0, count: 1 }), { shard: { index: 0, count: 1 }, maxExecutions });
  const parts = [0, 1, 2].map((index) => {
    const shard = { index, count: 3 };
    return explore(factory, makeStrategy(spec, 1, shard), { shard, maxExecutions });
  });
  const merged = mergeParts(parts);
  assert.equal(merged.incomplete, false);
  assert.deepEqual(figures(merged.summary), figures(whole.summary));
  const lead = merged.first === null ? null : parts[merged.first]!;
  assert.equal(lead?.violation?.kind ?? null, whole.violation?.kind ?? null);
  assert.deepEqual(lead?.schedule ?? null, whole.schedule);
  return { whole, parts };
}

test('shard: random in 3 parts merged equals the unsharded run (max executions, and a violation)', () => {
  const { whole } = compare({ kind: 'random' }, good, 300);
  assert.equal(whole.summary.executions, 300);
  const { whole: v, parts } = compare({ kind: 'random' }, bad);
  assert.equal(v.violation?.kind, 'stale-translation');
  assert.equal(v.summary.violationExecution, v.summary.executions - 1);
  // Each part ran its own executions up to its own first violation; the merge cut them at the first one.
  assert.ok(parts.reduce((a, p) => a + p.summary.executions, 0) >= v.summary.executions);
});

test('shard: pct in 3 parts merged equals the unsharded run (k is calibrated on the first executions by every part)', () => {
  compare({ kind: 'pct' }, good, 300);
  compare({ kind: 'pct' }, bad);
});

test('shard: dfs split 3 ways merged equals the split unsharded run (exhausted, and a violation)', () => {
  const { whole, parts } = compare({ kind: 'dfs', preemptionBound: 1 }, good);
  assert.equal(whole.summary.exhausted, true);
  assert.ok(parts.every((p) => p.summary.exhausted && p.summary.executions > 0));
  const { whole: v } = compare({ kind: 'dfs', preemptionBound: 1 }, bad);
  assert.equal(v.violation?.kind, 'stale-translation');
});

test('shard: ownership arithmetic; part w of shard i/n is i + n·w of n·k', () => {
  assert.equal(ownedBelow({ index: 2, count: 3 }, 10), 3); // 2, 5, 8
  assert.equal(ownedBelow({ index: 0, count: 3 }, 10), 4);
  assert.equal(ownedBelow({ index: 5, count: 6 }, 5), 0);
  assert.deepEqual(subShard({ index: 1, count: 4 }, 2, 3), { index: 9, count: 12 });
  assert.deepEqual(subShard(null, 1, 2), { index: 1, count: 2 });
  const a = explore(good, makeStrategy({ kind: 'random' }, 1), { shard: { index: 0, count: 2 }, maxExecutions: 10 });
  assert.throws(() => mergeParts([a, a]), /more than one part/);
  assert.equal(mergeParts([a]).incomplete, true);
});

test('shard (regression): a part that ran past the first violation before hearing of it is recorded cut there, whichever part stopped first (random, seed 1, the mini at its size)', () => {
  const spec: StrategySpec = { kind: 'random' };
  const mini = factoryFor('fault-vs-invalidation-mini', [], 'fault-skip-range-check');
  const alone = (index: number, options: { stopAfter?: () => number; maxExecutions?: number } = {}) => {
    const shard = { index, count: 2 };
    // Seed 1: the parts' own violations are units 4 and 13, far enough apart to tell the three ways below from each other.
    return explore(mini, makeStrategy(spec, 1, shard), { shard, ...options });
  };
  // Each part on its own runs to its own first violation; the earlier of the two is the unsharded run's.
  const own = [alone(0), alone(1)];
  const stops = own.map((p) => p.part.stopUnit!);
  const first = stops[0]! < stops[1]! ? 0 : 1;
  const other = 1 - first;
  const upTo = stops[first]!;
  assert.ok(stops[other]! > upTo + 2, `the other part's own violation (unit ${stops[other]}) comes well after the first (${upTo})`);
  // The other part as parts side by side may leave it: it knew of the first stop from the start (stopped at its next unit,
  // 'elsewhere'), it ran to its own later violation before hearing of it, or it ran past the first stop and then came to the
  // end of its executions.
  const knew = alone(other, { stopAfter: () => upTo });
  assert.equal(knew.summary.stoppedBy, 'elsewhere');
  const ways = [knew, own[other]!, alone(other, { maxExecutions: stops[other]! })];
  assert.deepEqual(
    ways.map((p) => p.summary.stoppedBy),
    ['elsewhere', 'violation', 'max-executions'],
  );
  const timeless = (p: ExplorePart) => ({ summary: figures(p.summary), part: p.part });
  const recorded = ways.map((p) => {
    const inOrder = mergeParts(first === 0 ? [own[0]!, p] : [p, own[1]!]);
    const reversed = mergeParts(first === 0 ? [p, own[0]!] : [own[1]!, p]);
    assert.deepEqual(figures(reversed.summary), figures(inOrder.summary));
    assert.deepEqual(reversed.parts.map(timeless).reverse(), inOrder.parts.map(timeless));
    return inOrder.parts.map(timeless);
  });
  // Every way gives the parts the one that knew from the start records: that one as it ran, the first as it ran.
  const expected = [own[first]!, knew].map(timeless);
  if (first === 1) expected.reverse();
  for (const r of recorded) assert.deepEqual(r, expected);
});
