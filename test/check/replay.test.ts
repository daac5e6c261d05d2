import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore, runLimits } from '../../src/check/explore.js';
import { PctStrategy } from '../../src/check/pct.js';
import { RandomStrategy } from '../../src/check/random.js';
import { ReplayDivergence, ReplayStrategy } from '../../src/check/replay.js';
import { runOnce } from '../../src/check/run.js';
import { decodeSchedule, encodeSchedule } from '../../src/check/schedule-codec.js';
import { counter, drawing, precheck, seqProtocol } from './toys.js';

const limits = runLimits({});

test('replay identity (random seed 11): the same schedule gives the same violation and the same log, twice', () => {
  const factory = seqProtocol(2, 2, 1, 'skip-seq-check');
  const found = explore(factory, new RandomStrategy(11));
  assert.ok(found.violation !== null && found.schedule !== null);
  const a = runOnce(factory, new ReplayStrategy(found.schedule), limits, true);
  const b = runOnce(factory, new ReplayStrategy(found.schedule), limits, true);
  assert.deepEqual(a.violation, found.violation);
  assert.deepEqual(b.violation, found.violation);
  assert.ok(a.instance.log !== null && a.instance.log.length > 0);
  assert.deepEqual(a.instance.log, b.instance.log);
  assert.deepEqual(a.schedule, found.schedule);
});

test('replay identity through the pasteable string (pct seed 5, model with draws)', () => {
  const factory = drawing(4);
  const found = explore(factory, new PctStrategy(5, 2));
  assert.ok(found.schedule !== null);
  assert.ok(found.schedule.draws.length === 2);
  const back = decodeSchedule(encodeSchedule(found.schedule));
  const r = runOnce(factory, new ReplayStrategy(back), limits, true);
  assert.deepEqual(r.violation, found.violation);
});

test('replay of a dfs counterexample, and of a livelock (dfs, unbounded)', () => {
  for (const factory of [counter(3, 1), precheck(true)]) {
    const found = explore(factory, new DfsStrategy());
    assert.ok(found.schedule !== null);
    const r = runOnce(factory, new ReplayStrategy(found.schedule), limits, false);
    assert.deepEqual(r.violation, found.violation);
  }
});

test('replay fails loudly on divergence', () => {
  const factory = seqProtocol(1, 1, 1, 'skip-seq-check');
  const found = explore(factory, new RandomStrategy(2));
  const s = found.schedule!;
  // A thread that does not exist.
  assert.throws(() => runOnce(factory, new ReplayStrategy({ choices: [7, ...s.choices], draws: [] }), limits, false), ReplayDivergence);
  // The schedule runs out before the end.
  assert.throws(() => runOnce(factory, new ReplayStrategy({ choices: s.choices.slice(0, 3), draws: [] }), limits, false), /schedule ends after 3 steps/);
  // Left-over choices.
  assert.throws(() => runOnce(factory, new ReplayStrategy({ choices: [...s.choices, 0], draws: [] }), limits, false), /ended/);
  // A draw the schedule does not have, or out of range.
  const d = explore(drawing(2), new RandomStrategy(2)).schedule!;
  assert.equal(d.draws.length, 2);
  assert.throws(
    () => runOnce(drawing(2), new ReplayStrategy({ choices: d.choices, draws: [] }), limits, false),
    /asks for schedule\.draws\[0\] \(a value in \[0, 2\)\), but the schedule has no draws/,
  );
  assert.throws(() => runOnce(drawing(2), new ReplayStrategy({ choices: d.choices, draws: [5, 0] }), limits, false), /out of \[0, 2\)/);
  assert.throws(() => runOnce(drawing(2), new ReplayStrategy({ choices: d.choices, draws: [...d.draws, 1] }), limits, false), /draws/);
});

test('a thread that cannot run at its turn is a divergence naming what it waits for', () => {
  const factory = counter(2, 1, true);
  // T0 takes the lock, T1 queues behind it; then the schedule insists on T1.
  assert.throws(
    () => runOnce(factory, new ReplayStrategy({ choices: [0, 1, 0, 1, 1, 1, 1, 1, 1], draws: [] }), limits, false),
    (e: unknown) => e instanceof ReplayDivergence && /blocked on lock \(write\)/.test(e.message),
  );
});
