import assert from 'node:assert/strict';
import { test } from 'node:test';
import { check } from '../../src/check/check.js';
import { explore, runLimits } from '../../src/check/explore.js';
import { modelBugMessage } from '../../src/check/model-bug-report.js';
import { RandomStrategy } from '../../src/check/random.js';
import { ReplayStrategy } from '../../src/check/replay.js';
import { runOnce } from '../../src/check/run.js';
import { decodeSchedule, encodeSchedule } from '../../src/check/schedule-codec.js';
import type { StrategySpec } from '../../src/check/strategies.js';
import { assertingCounter, TOY_BUG } from './model-bug-toy.js';

const limits = runLimits({});
const origin = { scenario: 'toy', settings: {}, mutant: null };

const strategies: [string, StrategySpec][] = [
  ['dfs (DPOR)', { kind: 'dfs' }],
  ['dfs, bound 2 (states)', { kind: 'dfs', preemptionBound: 2 }],
  ['dfs, iterative bound', { kind: 'dfs', iterative: true, preemptionBound: 2 }],
  ['pct', { kind: 'pct' }],
  ['random', { kind: 'random' }],
  ['auto', { kind: 'auto', preemptionBound: 2 }],
];

for (const [name, strategy] of strategies) {
  test(`model bug (${name}, seed 1): check keeps the schedule of the execution that threw, and replaying it throws the same (it stopped one step short: "the schedule ends")`, () => {
    const factory = assertingCounter(2);
    const r = check(factory, { strategy, seed: 1, origin });
    assert.equal(r.summary.stoppedBy, 'model-bug');
    assert.equal(r.violation, null);
    assert.equal(r.counterexample, null, 'a model bug is not minimised into a counterexample');
    const bug = r.modelBug;
    assert.ok(bug !== null);
    assert.match(bug.message, new RegExp(`^ModelBug: ${TOY_BUG}: 1, expected 2$`));
    // As the replay line carries it.
    const schedule = decodeSchedule(encodeSchedule(bug.schedule));
    const again = runOnce(factory, new ReplayStrategy(schedule), limits, true);
    assert.equal(again.outcome, 'model-bug');
    assert.equal(modelBugMessage(again.error), bug.message);
    assert.deepEqual(again.schedule, bug.schedule, 'the replay runs the whole schedule, the step that threw last');
  });
}

test('model bug: the schedule ends with the step that threw (the last thread, finishing)', () => {
  const found = explore(assertingCounter(3), new RandomStrategy(3));
  assert.ok(found.modelBug !== null, 'random seed 3 loses an update');
  const s = found.modelBug.schedule;
  // Each thread's four steps (the first runs to its first yield): the last choice is the fourth of the thread that finished last.
  assert.equal(s.choices.length, 12);
  const last = s.choices[s.choices.length - 1]!;
  assert.equal(s.choices.filter((c) => c === last).length, 4);
});

test('model bug: a schedule one step short does not reproduce it (the replay says the schedule ends), so the step that threw must be in it', () => {
  const factory = assertingCounter(2);
  const found = explore(factory, new RandomStrategy(1));
  assert.ok(found.modelBug !== null);
  const short = { ...found.modelBug.schedule, choices: found.modelBug.schedule.choices.slice(0, -1) };
  assert.throws(() => runOnce(factory, new ReplayStrategy(short), limits, false), /the schedule ends after/);
});
