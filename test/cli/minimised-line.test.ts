import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minimisedLine } from '../../src/cli/check-command.js';

const base = { size: { steps: 29, preemptions: 2, switches: 5 }, original: { steps: 48, preemptions: 4, switches: 7 }, attempts: 3 };

test('minimised line: a search for the shortest cut by --time-limit or SIGINT does not blame the search budget (it said "the search\'s budget" at 1,534 of 20,000)', () => {
  const search = { executions: 1534, complete: false };
  assert.equal(
    minimisedLine({ ...base, search, cutShort: 'time-limit' }),
    'minimised: 48 → 29 scheduler steps, 4 → 2 preemptions; maybe not the shortest (1,534 executions searched); cut short at --time-limit',
  );
  assert.match(minimisedLine({ ...base, search, cutShort: 'interrupted' }), /\(1,534 executions searched\); cut short by SIGINT$/);
  assert.match(
    minimisedLine({ ...base, search: { executions: 20000, complete: false } }),
    /maybe not the shortest \(20,000 executions searched, the search's budget\)$/,
  );
});

test('minimised line: it says its steps are the scheduler\'s and how many events the interleaving prints, and a proof with no preemptions reads right (a probe: "none as short with fewer preemptions, none shorter with 0")', () => {
  const search = { executions: 130, complete: true };
  assert.equal(
    minimisedLine({ ...base, search }, 19),
    'minimised: 48 → 29 scheduler steps (19 events printed), 4 → 2 preemptions; shortest: none as short with fewer preemptions, none shorter with 2 (130 executions searched)',
  );
  assert.equal(
    minimisedLine({ ...base, size: { ...base.size, preemptions: 0 }, search }, 1),
    'minimised: 48 → 29 scheduler steps (1 event printed), 4 → 0 preemptions; shortest: none shorter with no preemptions (130 executions searched)',
  );
});
