import assert from 'node:assert/strict';
import { test } from 'node:test';
import { factory, sized } from '../../src/bench/mini.js';
import { measurePctCost, recordPct, replayWithoutChecker } from '../../src/bench/pct-cost.js';

test("pct cost: pct's executions replay on the runtime alone, step for step and draw for draw", () => {
  const make = factory(sized('fault-vs-invalidation-mini', 2, 1, 1), null);
  const runs = recordPct(make, 200);
  assert.equal(runs.length, 200);
  replayWithoutChecker(make, runs);
  // A record that does not fit is caught: a step of a thread that has finished.
  const r = runs[0]!;
  const done = r.choices[r.choices.length - 1]!;
  const extended = { choices: Uint8Array.from([...r.choices, done]), draws: r.draws };
  assert.throws(() => replayWithoutChecker(make, [extended]), /which is done/);
  // And so are draws that do not match.
  const withDraws = runs.find((x) => x.draws.length > 0)!;
  assert.throws(() => replayWithoutChecker(make, [{ choices: withDraws.choices, draws: withDraws.draws.subarray(1) }]));
  const c = measurePctCost({ size: [2, 1, 1], executions: 100, repeats: 1 });
  assert.equal(c.executions, 100);
  assert.ok(c.stepsPerExecution > 10, `${c.stepsPerExecution} steps per execution`);
});
