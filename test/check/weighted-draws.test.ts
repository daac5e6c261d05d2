import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { PctStrategy } from '../../src/check/pct.js';
import { ReplayStrategy } from '../../src/check/replay.js';
import { runOnce } from '../../src/check/run.js';
import { OP_LOCAL } from '../../src/runtime/op.js';
import { Prng, type Weighted } from '../../src/runtime/prng.js';
import { ToyInstance } from './toys.js';

/** Outcome 1 one time in a million: no seed draws it in practice. */
const rare: Weighted = { n: 2, of: (u) => (u < 1e-6 ? 1 : 0) };

/** One thread that makes a rare weighted draw and violates on it. */
const rareDraw: InstanceFactory = (options) => {
  const inst = new ToyInstance(options);
  inst.rt.spawn('T', function* () {
    yield OP_LOCAL;
    const v = inst.rt.drawWeighted(rare);
    inst.say(`drew ${v}`);
    if (v === 1) inst.violate('rare', 'the rare outcome was drawn');
  });
  return inst;
};

test('a weighted draw is one draw below 2^30 mapped by its weights: a seeded source draws what it drew before weighted draws existed', () => {
  const a = new Prng(7);
  const b = new Prng(7);
  const w: Weighted = { n: 3, of: (u) => Math.floor(u * u * 3) };
  for (let i = 0; i < 1000; i++) assert.equal(a.weighted(w), w.of(b.below(2 ** 30) / 2 ** 30));
});

test("dfs with draws explored takes every outcome of a weighted draw, however unlikely; seeded, and pct, take the seed's", () => {
  const explored = explore(rareDraw, new DfsStrategy({ draws: 'explore' }));
  assert.equal(explored.violation?.kind, 'rare');
  assert.deepEqual(explored.schedule?.draws, [1]);
  const seeded = explore(rareDraw, new DfsStrategy({}));
  assert.equal(seeded.violation, null);
  assert.equal(seeded.summary.exhausted, true);
  assert.equal(explore(rareDraw, new PctStrategy(1, 3), { maxExecutions: 1000 }).violation, null);
});

test('a schedule records a weighted draw as its outcome, and replays it', () => {
  const r = explore(rareDraw, new DfsStrategy({ draws: 'explore' }));
  assert.ok(r.schedule !== null);
  const again = runOnce(rareDraw, new ReplayStrategy(r.schedule), { maxSteps: 100, fairSpin: true }, false);
  assert.equal(again.violation?.kind, 'rare');
  assert.deepEqual(again.schedule.draws, [1]);
});

test('a draw is a choice: pct does not take a world of one thread that draws for a world of one execution (it stops after the first only when there is neither a choice of thread nor a draw)', () => {
  const r = explore(rareDraw, new PctStrategy(1, 3), { maxExecutions: 500 });
  assert.deepEqual([r.summary.executions, r.summary.exhausted, r.summary.stoppedBy], [500, false, 'max-executions']);
});
