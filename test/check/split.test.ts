import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfsStrategy, type PorMode } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import type { InstanceFactory } from '../../src/check/factory.js';
import { TraceSet } from '../../src/check/trace-set.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import { raiseAndWait } from './toys.js';

const mini = (n: number, i: number, f: number) => factoryFor('fault-vs-invalidation-mini', [`vcpus=${n}`, `invalidations=${i}`, `faultsPerVcpu=${f}`], null);

/** dfs with a TraceSet watching, split into subtrees (shard 0/1: every unit explored here) or not. */
function run(f: InstanceFactory, por: PorMode, preemptionBound: number, prefixes: number | null) {
  const traces = new TraceSet();
  const split = prefixes === null ? undefined : { shard: { index: 0, count: 1 }, prefixes, fewestPreemptionsFirst: true };
  const dfs = new DfsStrategy({ por, preemptionBound, observer: traces, split });
  const r = explore(f, dfs, { shard: split?.shard });
  return { summary: r.summary, traces, units: dfs.currentUnit() + 1 };
}

test('dfs split with a preemption bound: the top walked once per preemptions it spends, fewest first, the units still partition the tree', () => {
  for (const [f, bound] of [
    [raiseAndWait(2, 3), 2],
    [mini(2, 1, 1), 2],
    [mini(2, 2, 1), 1],
  ] as const) {
    const whole = run(f, 'none', bound, null);
    const split = run(f, 'none', bound, 16);
    // Plain DFS: every execution falls in exactly one unit, whatever order the units are walked in.
    assert.equal(split.summary.exhausted, true);
    assert.equal(split.summary.executions, whole.summary.executions);
    assert.equal(split.summary.maxDepth, whole.summary.maxDepth);
    assert.equal(split.traces.size, whole.traces.size);
    assert.ok(split.units > 4, `${split.units} units`);
    // The explored-states search covers the same traces, split or not.
    const states = run(f, 'states', bound, 16);
    assert.equal(states.traces.size, whole.traces.size);
  }
});
