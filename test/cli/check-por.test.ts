import assert from 'node:assert/strict';

import { join } from 'node:path';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import { tempDir } from '../temp-dir.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-check-por-');
const size = ['--set', 'vcpus=2', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2', '--preemption-bound', '1'];

/** A check's JSON without its wall times (nor the name of its counterexample file). */
function untimed(r: Record<string, unknown>) {
  const { code, stderr, counterexample, ...json } = r as Record<string, unknown> & {
    summary: Record<string, unknown>;
    parts: { summary: Record<string, unknown> }[];
  };
  const zero = (s: Record<string, unknown>) => ({ ...s, wallMs: 0, executionsPerSec: 0, firstCounterexampleMs: s.firstCounterexampleMs === null ? null : 0 });
  return { ...json, summary: zero(json.summary), parts: json.parts.map((p) => ({ ...p, summary: zero(p.summary) })) };
}

async function check(name: string, ...args: string[]) {
  const json = join(dir, `${name}.json`);
  const r = await cli('check', 'fault-vs-invalidation-mini', '--json', json, '--out', join(dir, `${name}-cex.json`), ...args);
  return {
    code: r.code,
    stderr: r.stderr,
    ...(load(json) as { summary: { exhausted: boolean; executions: number }; violation: { kind: string } | null }),
  };
}

test('check with a preemption bound explores states (--por states) by default: exhausted; --workers 2 gives the JSON of one worker, the executions of one DFS', async () => {
  const one = await check('one', ...size);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.summary.exhausted, true);
  const states = await check('states', ...size, '--por', 'states');
  assert.deepEqual({ ...states.summary, wallMs: 0, executionsPerSec: 0 }, { ...one.summary, wallMs: 0, executionsPerSec: 0 });
  const dpor = await check('dpor', ...size, '--por', 'dpor');
  assert.equal(dpor.summary.exhausted, true);
  assert.notEqual(one.summary.executions, dpor.summary.executions, 'another reduction');
  // The parts share one table of states: the executions of the whole DFS, in one process.
  const whole = explore(
    factoryFor('fault-vs-invalidation-mini', ['vcpus=2', 'invalidations=2', 'faultsPerVcpu=2'], null),
    new DfsStrategy({ preemptionBound: 1 }),
  );
  assert.equal(one.summary.executions, whole.summary.executions);
  const two = await check('two', ...size, '--workers', '2');
  assert.deepEqual(untimed(two), untimed(one));
  // A --shard part cannot share its table: each subtree remembers its own states.
  const split = await check('split', ...size, '--shard', '0/1');
  assert.equal(split.summary.exhausted, true);
  assert.ok(split.summary.executions > one.summary.executions, `${split.summary.executions} vs ${one.summary.executions}`);
});

test('check with a preemption bound and --workers 2 on a mutant: the violation, counterexample and JSON of one worker', async () => {
  const args = ['--set', 'vcpus=3', '--set', 'invalidations=2', '--preemption-bound', '2', '--mutate', 'fault-skip-seq-check'];
  const one = await check('mut-one', ...args);
  const two = await check('mut-two', ...args, '--workers', '2');
  assert.equal(one.code, 1, one.stderr);
  assert.equal(two.code, 1, two.stderr);
  assert.deepEqual(untimed(two), untimed(one));
  assert.deepEqual(load(join(dir, 'mut-two-cex.json')), load(join(dir, 'mut-one-cex.json')));
  // The JSON says how far minimisation got (at this size the search stops at its budget).
  const m = (one as unknown as { minimisation: { size: { steps: number }; original: { steps: number }; search: { complete: boolean; executions: number } } })
    .minimisation;
  assert.ok(m.size.steps <= m.original.steps);
  assert.deepEqual(m.search, { executions: 20_000, complete: false });
});

test('check with a preemption bound (states) finds a mutant (exit 1) that replays', async () => {
  const r = await check('mutant', ...size, '--mutate', 'fault-skip-range-check');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.violation?.kind, 'stale-translation');
  const replay = await cli('replay', join(dir, 'mutant-cex.json'));
  assert.equal(replay.code, 1, replay.stderr);
});

test('check --por: bad values and combinations are refused in one line, exit 2', async () => {
  for (const [args, msg] of [
    [['--por', 'optimal', '--preemption-bound', '1'], /^mmulab: --por optimal: expected dpor or states$/],
    [['--por', 'states'], /^mmulab: --por states: expected --preemption-bound or --iterative-bound/],
    [['--por', 'states', '--strategy', 'pct'], /^mmulab: --por: expected --strategy dfs, not pct$/],
  ] as const) {
    const r = await cli('check', 'fault-vs-invalidation-mini', ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), msg);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('check --por dpor with a preemption bound explores the branches of the top on one worker too: the JSON of --workers 2 (exhausted, and a violation)', async () => {
  const small = ['--set', 'vcpus=2', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1', '--por', 'dpor', '--preemption-bound', '2'];
  const one = await check('branches-one', ...small);
  const two = await check('branches-two', ...small, '--workers', '2');
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.summary.exhausted, true);
  assert.deepEqual(untimed(two), untimed(one));
  // Bounded, the branches reach what one DFS reaches in a few executions fewer.
  const f = factoryFor('fault-vs-invalidation-mini', ['vcpus=2', 'invalidations=1', 'faultsPerVcpu=1'], null);
  assert.equal(explore(f, new DfsStrategy({ preemptionBound: 2, por: 'dpor' })).summary.executions, 2_325);
  assert.equal(one.summary.executions, 2_301);
  // A violation: both report the first one DFS finds.
  const bug = ['--set', 'vcpus=2', '--set', 'invalidations=2', '--por', 'dpor', '--preemption-bound', '2', '--mutate', 'fault-skip-seq-check'];
  const bugOne = await check('branches-bug-one', ...bug);
  const bugTwo = await check('branches-bug-two', ...bug, '--workers', '2');
  assert.equal(bugOne.code, 1, bugOne.stderr);
  assert.equal(bugOne.violation?.kind, 'stale-translation');
  assert.deepEqual(untimed(bugTwo), untimed(bugOne));
  assert.deepEqual(load(join(dir, 'branches-bug-two-cex.json')), load(join(dir, 'branches-bug-one-cex.json')));
});
