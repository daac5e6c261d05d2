import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { explore, runLimits } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { minimise, smaller } from '../../src/check/minimise.js';
import { PctStrategy } from '../../src/check/pct.js';
import { RandomStrategy } from '../../src/check/random.js';
import { ReplayStrategy } from '../../src/check/replay.js';
import { runOnce } from '../../src/check/run.js';
import { abba, counter, precheck, seqProtocol } from './toys.js';

const limits = runLimits({});

const models: [string, InstanceFactory][] = [
  ['racy counter 3x2', counter(3, 2)],
  ['seq protocol without the seq check 2x2x2', seqProtocol(2, 2, 2, 'skip-seq-check')],
  ['AB-BA', abba()],
  ['pre-check read once', precheck(true)],
];

for (const [name, factory] of models) {
  test(`minimisation never lengthens and keeps the property: ${name} (fast-check seed 77, random seeds)`, () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), (seed) => {
        const found = explore(factory, new RandomStrategy(seed), { maxExecutions: 100_000 });
        assert.ok(found.violation !== null && found.schedule !== null);
        const m = minimise(factory, found.schedule, found.violation.kind, limits, { maxAttempts: 400 });
        assert.equal(m.violation.kind, found.violation.kind);
        assert.ok(m.size.steps <= m.original.steps);
        assert.ok(m.size.preemptions <= m.original.preemptions);
        assert.equal(m.original.steps, found.schedule.choices.length);
        // The minimal schedule is strict: it replays exactly to the same property.
        const r = runOnce(factory, new ReplayStrategy(m.schedule), limits, false);
        assert.equal(r.violation?.kind, found.violation.kind);
        assert.equal(r.schedule.choices.length, m.size.steps);
        assert.equal(r.preemptions, m.size.preemptions);
      }),
      { seed: 77, numRuns: 15 },
    );
  });
}

test('minimisation shortens a long random counterexample (pct seed 3, seq protocol 3x3x2)', () => {
  const factory = seqProtocol(3, 3, 2, 'skip-seq-check');
  const found = explore(factory, new PctStrategy(3, 3));
  assert.ok(found.violation !== null && found.schedule !== null);
  const m = minimise(factory, found.schedule, found.violation.kind, limits);
  assert.ok(smaller(m.size, m.original) || (m.size.steps === m.original.steps && m.size.preemptions === m.original.preemptions));
  assert.ok(m.size.preemptions <= 2, `preemptions ${m.size.preemptions}`);
});

test('minimise refuses a schedule that does not violate the property', () => {
  const factory = counter(2, 1);
  const found = explore(factory, new RandomStrategy(1));
  assert.throws(() => minimise(factory, found.schedule!, 'deadlock', limits), /does not lead to a 'deadlock'/);
});

test('smaller: never more steps nor preemptions, and less of something', () => {
  const s = (steps: number, preemptions: number, switches: number) => ({ steps, preemptions, switches });
  assert.ok(smaller(s(9, 1, 3), s(10, 1, 3)));
  assert.ok(smaller(s(10, 0, 3), s(10, 1, 3)));
  assert.ok(smaller(s(10, 1, 2), s(10, 1, 3)));
  assert.ok(!smaller(s(10, 1, 3), s(10, 1, 3)));
  assert.ok(!smaller(s(9, 2, 1), s(10, 1, 3)));
  assert.ok(!smaller(s(11, 0, 0), s(10, 1, 3)));
});

test('minimisation stops at its wall-time budget and says so (a clock that has run out), and says nothing without one', () => {
  const factory = seqProtocol(2, 2, 2, 'skip-seq-check');
  const found = explore(factory, new RandomStrategy(3), { maxExecutions: 100_000 });
  assert.ok(found.violation !== null && found.schedule !== null);
  // A clock that jumps a second on every reading: the budget of 10 ms is gone at the first look.
  let now = 0;
  const clock = () => (now += 1000);
  const cut = minimise(factory, found.schedule, found.violation.kind, limits, { timeLimitMs: 10, clock });
  assert.equal(cut.cutShort, 'time-limit');
  assert.equal(cut.attempts, 0);
  assert.equal(cut.search, null);
  assert.deepEqual(cut.size, cut.original);
  const whole = minimise(factory, found.schedule, found.violation.kind, limits, { maxAttempts: 400 });
  assert.equal('cutShort' in whole, false);
  // Interrupted (SIGINT) before the first trial: the schedule as found, and said so.
  const stopped = minimise(factory, found.schedule, found.violation.kind, limits, { interrupted: () => true });
  assert.equal(stopped.cutShort, 'interrupted');
  assert.equal(stopped.attempts, 0);
  assert.deepEqual(stopped.size, stopped.original);
  assert.ok(smaller(whole.size, whole.original) || whole.search?.complete === true);
});
