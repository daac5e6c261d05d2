import assert from 'node:assert/strict';
import { test } from 'node:test';
import { factory, sized } from '../../src/bench/mini.js';
import { explore } from '../../src/check/explore.js';
import { makeStrategy } from '../../src/check/strategies.js';

test('a cut run says what is pending as an instance that tracked it all along would: its replay on one that does', () => {
  const make = factory(sized('fault-vs-invalidation-mini', 2, 2, 2), null);
  // The same factory, ignoring `progress`: every instance tracks the awaited events itself.
  const tracking = (o: { log: boolean }) => make({ log: o.log });
  for (const maxSteps of [20, 30, 40]) {
    const rebuilt = explore(make, makeStrategy({ kind: 'pct' }, 1), { maxExecutions: 50, maxSteps });
    const live = explore(tracking, makeStrategy({ kind: 'pct' }, 1), { maxExecutions: 50, maxSteps });
    assert.match(rebuilt.violation!.message, new RegExp(`^${maxSteps} steps run, still awaited: migrate invalidation pending`));
    assert.deepEqual(rebuilt.violation, live.violation);
    assert.deepEqual(rebuilt.schedule, live.schedule);
    assert.equal(rebuilt.summary.truncated, live.summary.truncated);
  }
});
