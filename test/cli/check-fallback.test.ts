import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayCounterexample } from '../../src/check/counterexample.js';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import { type PartsRun, seenInBranches } from '../../src/cli/check-workers.js';

test('check: a violation the branches saw is reported, with a replayable counterexample, when the one-DFS run that was to find the first one is cut short first (it said "no violation found", exit 0)', () => {
  const ref = 'fault-vs-invalidation-mini';
  const mutant = 'fault-skip-range-check';
  const factory = factoryFor(ref, [], mutant);
  const seen = explore(factory, new DfsStrategy({ preemptionBound: 2 }), {});
  assert.ok(seen.violation !== null && seen.schedule !== null);
  const options = { strategy: { kind: 'dfs' as const }, seed: 1, origin: { scenario: ref, settings: {}, mutant }, timeLimitMs: 500 };
  const summary = { ...seen.summary, executions: 16, stoppedBy: 'time-limit' as const };
  const cut: PartsRun = {
    result: { summary, violation: null, counterexample: null, minimisation: null, modelBug: null, schedule: null },
    parts: [],
  };
  const r = seenInBranches(
    { kind: 'check', ref, sets: [], mutant, options },
    { violation: seen.violation, modelBug: null, schedule: seen.schedule, executions: 124 },
    cut,
  );
  assert.equal(r.result.summary.stoppedBy, 'violation');
  assert.equal(r.result.summary.executions, 16, 'the figures of the run cut short');
  assert.equal(r.result.violation?.kind, 'stale-translation');
  const cex = r.result.counterexample!;
  assert.equal(cex.property, 'stale-translation');
  assert.ok(replayCounterexample(factory, cex).same, 'the counterexample replays to itself');
});
