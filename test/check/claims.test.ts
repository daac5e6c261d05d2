import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimedOwnership, UnitClaims } from '../../src/check/claims.js';
import { DfsStrategy } from '../../src/check/dfs.js';
import { type ExploreResult, explore } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { mergeClaimed } from '../../src/check/merge.js';
import type { Shard } from '../../src/check/shard.js';
import { seqProtocol } from './toys.js';

/**
 * Claims that give part `p` the positions `assign` maps to it, in order: the
 * interleaving of parts taking units on demand, fixed, so that one thread can
 * play any of them.
 */
function scripted(assign: (pos: number) => number, p: number): UnitClaims {
  let next = 0;
  return {
    take() {
      // Past the tree's units, a part that is assigned none takes one that does not exist.
      while (assign(next) !== p && next < 1 << 12) next++;
      return next++;
    },
    spent: () => 0,
    spend: () => true,
  } as unknown as UnitClaims;
}

const figures = (r: ExploreResult) => ({ summary: { ...r.summary, wallMs: 0, executionsPerSec: 0, firstCounterexampleMs: null }, part: r.part });

/** The shard run as one part, and as `parts` parts taking its units as `assign` says, combined. */
function compare(factory: InstanceFactory, shard: Shard, parts: number, assign: (pos: number) => number) {
  const spec = { preemptionBound: 1, seed: 1 };
  const one = explore(factory, new DfsStrategy({ ...spec, split: { shard, prefixes: 64 } }), { shard });
  const runs = Array.from({ length: parts }, (_, p) => {
    const claims = scripted(assign, p);
    return explore(factory, new DfsStrategy({ ...spec, split: { shard, prefixes: 64, claims } }), { shard, claims });
  });
  const m = mergeClaimed(runs, shard);
  assert.deepEqual(figures({ ...one, summary: m.part.summary, part: m.part.part }), figures(one));
  const lead = m.first === null ? null : runs[m.first]!;
  assert.deepEqual(lead?.schedule ?? null, one.schedule);
  return { one, runs };
}

test('claims: parts taking dfs subtrees on demand combine into the single part, whoever took which (exhausted, and a violation past unit 0)', () => {
  const whole = { index: 0, count: 1 };
  const assignments = [(u: number) => u % 2, (u: number) => (u < 3 ? 0 : 1), (u: number) => ((u * 7) >> 2) % 3];
  for (const assign of assignments) {
    const { one, runs } = compare(seqProtocol(2, 1, 1), whole, 3, assign);
    assert.equal(one.summary.exhausted, true);
    assert.ok(one.part.lastUnit > 4);
    assert.equal(
      runs.reduce((a, r) => a + r.summary.executions, 0),
      one.summary.executions,
    );
    const v = compare(seqProtocol(2, 1, 1, 'skip-seq-check'), whole, 3, assign).one;
    assert.equal(v.violation?.kind, 'stale-translation');
    assert.ok(v.part.stopUnit! > 0, 'the violation is in a later subtree');
    assert.equal(v.summary.violationExecution, v.summary.executions - 1);
  }
  // Within a shard of several: its units only, the violation's number left to the merge.
  compare(seqProtocol(2, 1, 1), { index: 1, count: 2 }, 2, (u) => (u >> 1) % 2);
});

test('claims: positions are taken in increasing order, and a part owns what it takes', () => {
  const claims = new UnitClaims();
  const a = claimedOwnership({ index: 1, count: 3 }, claims);
  const b = claimedOwnership({ index: 1, count: 3 }, new UnitClaims(claims.buffer));
  assert.equal(a(0), false); // not the shard's
  assert.equal(a(1), true); // position 0
  assert.equal(b(1), false);
  assert.equal(b(4), true); // position 1: b takes it when it gets there
  assert.equal(a(4), false); // a moves on and takes position 2
  assert.equal(a(7), true);
  assert.equal(claims.spend(2), true);
  assert.equal(claims.spend(2), true);
  assert.equal(claims.spend(2), false);
});
