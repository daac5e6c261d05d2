import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { IterativeBoundStrategy } from '../../src/check/iterative-bound.js';
import { SHARED_STATES_PREFIXES, SharedStateCache } from '../../src/check/shared-state-cache.js';
import { makeStrategy } from '../../src/check/strategies.js';
import { counter, seqProtocol } from './toys.js';

const LIMIT = { timeLimitMs: 60_000 };

/** What `check --preemption-bound N` runs: explored states, the tree split as workers split it (one part, one table). */
function bounded(factory: InstanceFactory, preemptionBound: number) {
  const split = { shard: { index: 0, count: 1 }, prefixes: SHARED_STATES_PREFIXES, states: SharedStateCache.buffer(1 << 16) };
  return explore(factory, new DfsStrategy({ preemptionBound, split }), { ...LIMIT, shard: split.shard });
}

test('iterative bound: each level runs what dfs with that bound runs; between levels the whole space is tried as long as the level took', () => {
  const factory = counter(2, 2, true);
  const r = explore(factory, new IterativeBoundStrategy({}), LIMIT);
  assert.equal(r.violation, null);
  assert.equal(r.summary.exhausted, true);
  assert.equal(r.summary.stoppedBy, 'exhausted');
  const levels = r.summary.preemptionBounds!;
  assert.ok(levels.length >= 2, JSON.stringify(levels));
  let b = 0;
  levels.forEach((l, i) => {
    if (l.preemptionBound === null) {
      // A try follows a bounded level and takes at most as many executions.
      const before = levels[i - 1]!;
      assert.notEqual(before.preemptionBound, null);
      assert.ok(l.executions <= before.executions, JSON.stringify(levels));
      if (i < levels.length - 1) assert.equal(l.exhausted, false);
      return;
    }
    assert.equal(l.preemptionBound, b);
    assert.equal(l.exhausted, true);
    assert.equal(l.executions, bounded(factory, b).summary.executions, `level ${b}`);
    b++;
  });
  const last = levels[levels.length - 1]!;
  if (last.preemptionBound === null) {
    // The try that finished ran what an unbounded dfs runs.
    assert.equal(last.exhausted, true);
    assert.equal(last.executions, explore(factory, new DfsStrategy({}), LIMIT).summary.executions);
  } else {
    // Or the last bound cut nothing, so one more preemption adds nothing.
    const probe = new DfsStrategy({ preemptionBound: last.preemptionBound });
    explore(factory, probe, LIMIT);
    assert.equal(probe.stats.boundCuts, 0);
  }
  assert.equal(
    r.summary.executions,
    levels.reduce((a, l) => a + l.executions, 0),
  );
});

test('iterative bound: a level in which the bound cut nothing is the last (no try after it)', () => {
  // One thread: no choice is ever a preemption, so bound 0 cuts nothing.
  const r = explore(counter(1, 3, true), new IterativeBoundStrategy({}), LIMIT);
  assert.deepEqual(
    r.summary.preemptionBounds!.map((l) => [l.preemptionBound, l.exhausted]),
    [[0, true]],
  );
  assert.equal(r.summary.exhausted, true);
});

test('iterative bound: with a maximum it stops at that level, exhausted within it', () => {
  const r = explore(counter(2, 2, true), new IterativeBoundStrategy({}, 1), LIMIT);
  assert.deepEqual(
    r.summary.preemptionBounds!.map((l) => [l.preemptionBound, l.exhausted]),
    [
      [0, true],
      [null, false],
      [1, true],
    ],
  );
  assert.equal(r.summary.exhausted, true);
});

test('iterative bound: finds a bug at the lowest bound that shows it, and says which levels were exhausted', () => {
  const factory = seqProtocol(1, 1, 1, 'skip-seq-check');
  const r = explore(factory, makeStrategy({ kind: 'dfs', iterative: true }, 1), LIMIT);
  assert.equal(r.violation?.kind, 'stale-translation');
  assert.equal(r.summary.exhausted, false);
  const levels = r.summary.preemptionBounds!;
  const found = levels[levels.length - 1]!;
  assert.equal(found.exhausted, false);
  for (const l of levels.slice(0, -1)) if (l.preemptionBound !== null) assert.equal(l.exhausted, true);
  // Found at a bounded level: dfs with the bound below misses the bug.
  const b = found.preemptionBound ?? levels[levels.length - 2]!.preemptionBound!;
  if (found.preemptionBound !== null && b > 0) assert.equal(bounded(factory, b - 1).violation, null);
  if (found.preemptionBound !== null) assert.notEqual(bounded(factory, b).violation, null);
});

test('iterative bound: a time limit leaves the current level not exhausted, and the summary says how far it got', () => {
  const r = explore(seqProtocol(2, 2, 1), makeStrategy({ kind: 'dfs', iterative: true }, 1), { maxExecutions: 50 });
  assert.equal(r.summary.executions, 50);
  assert.equal(r.summary.exhausted, false);
  const levels = r.summary.preemptionBounds!;
  assert.equal(
    levels.reduce((a, l) => a + l.executions, 0),
    50,
  );
  assert.equal(levels[levels.length - 1]!.exhausted, false);
});

test('iterative bound: cannot be sharded', () => {
  assert.throws(() => makeStrategy({ kind: 'dfs', iterative: true }, 1, { index: 0, count: 2 }), /cannot be sharded/);
});
