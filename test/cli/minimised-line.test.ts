import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minimisedLine } from '../../src/cli/check-command.js';

const base = { size: { steps: 29, preemptions: 2, switches: 5 }, original: { steps: 48, preemptions: 4, switches: 7 }, attempts: 3 };

test('minimised line: a search for the shortest cut by --time-limit or SIGINT does not blame the search budget (it said "the search\'s budget" at 1,534 of 20,000)', () => {
  const search = { executions: 1534, complete: false };
  assert.equal(
    minimisedLine({ ...base, search, cutShort: 'time-limit' }),
    'minimised: 48 → 29 steps, 4 → 2 preemptions; maybe not the shortest (1,534 executions searched); cut short at --time-limit',
  );
  assert.match(minimisedLine({ ...base, search, cutShort: 'interrupted' }), /\(1,534 executions searched\); cut short by SIGINT$/);
  assert.match(
    minimisedLine({ ...base, search: { executions: 20000, complete: false } }),
    /maybe not the shortest \(20,000 executions searched, the search's budget\)$/,
  );
});
