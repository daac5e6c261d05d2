import assert from 'node:assert/strict';

import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-check-iterative-');

interface Level {
  preemptionBound: number | null;
  executions: number;
  exhausted: boolean;
}

/** check with `strategy` (the JSON `name`.json, the counterexample `name`-cex.json, not minimised). */
async function checkWith(strategy: string[], name: string, ...args: string[]) {
  const json = join(dir, `${name}.json`);
  const r = await cli('check', 'fault-vs-invalidation-mini', ...strategy, '--json', json, '--out', join(dir, `${name}-cex.json`), '--no-minimise', ...args);
  const j = load(json) as {
    summary: { strategy: string; exhausted: boolean; executions: number; preemptionBounds: Level[] };
    violation: { kind: string } | null;
  };
  return { code: r.code, stderr: r.stderr, ...j };
}

const check = (name: string, ...args: string[]) => checkWith(['--strategy', 'dfs', '--iterative-bound'], name, ...args);

test('check --iterative-bound: bound 0, 1, … up to --preemption-bound, each exhausted, in the JSON summary', async () => {
  const r = await check('ok', '--set', 'vcpus=2', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2', '--preemption-bound', '1');
  assert.equal(r.code, 0, r.stderr);
  const levels = r.summary.preemptionBounds;
  assert.deepEqual(
    levels.map((l) => [l.preemptionBound, l.exhausted]),
    [
      [0, true],
      [null, false],
      [1, true],
    ],
  );
  assert.equal(r.summary.exhausted, true);
  assert.equal(
    r.summary.executions,
    levels.reduce((a, l) => a + l.executions, 0),
  );
  // The level of bound 1 is what --preemption-bound 1 alone runs.
  assert.equal(
    (await plain('fixed', '--set', 'vcpus=2', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2', '--preemption-bound', '1')).executions,
    levels[2]!.executions,
  );
});

test('check --iterative-bound: a world small enough is exhausted whole by a try between bounds, as dfs without a bound does', async () => {
  const size = ['--set', 'vcpus=1', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1'];
  const r = await check('small', ...size);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.summary.exhausted, true);
  const last = r.summary.preemptionBounds[r.summary.preemptionBounds.length - 1]!;
  assert.equal(last.preemptionBound, null);
  assert.equal(last.exhausted, true);
  assert.equal(last.executions, (await plain('small-plain', ...size)).executions);
});

/** The summary of a plain check --strategy dfs. */
async function plain(name: string, ...args: string[]): Promise<{ executions: number }> {
  const json = join(dir, `${name}.json`);
  const r = await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'dfs', ...args, '--json', json);
  assert.equal(r.code, 0, r.stderr);
  return (load(json) as { summary: { executions: number } }).summary;
}

test('check --iterative-bound: a mutant is found at a low bound; exit 1', async () => {
  const r = await check('mutant', '--set', 'vcpus=2', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1', '--mutate', 'fault-skip-range-check');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.violation?.kind, 'stale-translation');
  const levels = r.summary.preemptionBounds;
  // Found at a bound (not in an unbounded try between bounds, whose preemptionBound is null).
  const at = levels[levels.length - 1]!.preemptionBound;
  assert.ok(at !== null && at <= 2, JSON.stringify(levels));
});

/** A check's JSON without its wall times (nor the name of its counterexample file). */
function untimed(j: Record<string, unknown>) {
  return JSON.parse(
    JSON.stringify(j, (k, v) =>
      k === 'wallMs' || k === 'executionsPerSec' || k === 'firstCounterexampleMs' || k === 'counterexample' || k === 'stderr' ? undefined : v,
    ),
  );
}

/** `run` on 1 and on 2 workers finds a violation (exit 1): the same JSON, and the same counterexample file. */
async function sameViolation(run: (name: string, ...args: string[]) => ReturnType<typeof check>, name: string, args: string[]) {
  const one = await run(`${name}1`, ...args);
  const two = await run(`${name}2`, ...args, '--workers', '2');
  assert.equal(two.code, 1, two.stderr);
  assert.deepEqual(untimed(two), untimed(one));
  assert.deepEqual(load(join(dir, `${name}2-cex.json`)), load(join(dir, `${name}1-cex.json`)));
}

test('check --iterative-bound --workers 2: each level on the workers, the JSON of one worker (levels, figures, counterexample)', async () => {
  const size = ['--set', 'vcpus=2', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2'];
  const one = await check('w1', ...size, '--preemption-bound', '2');
  const two = await check('w2', ...size, '--preemption-bound', '2', '--workers', '2');
  assert.equal(two.code, 0, two.stderr);
  assert.deepEqual(
    two.summary.preemptionBounds.map((l) => [l.preemptionBound, l.executions, l.exhausted]),
    [
      [0, 6, true],
      [null, 6, false],
      [1, 423, true],
      [null, 423, false],
      [2, 12_119, true],
    ],
  );
  assert.deepEqual(untimed(two), untimed(one));
  // Cut by --max-executions inside a level, at the end of a try, inside a try.
  for (const budget of ['300', '12', '800']) {
    const a = await check(`w1-${budget}`, ...size, '--preemption-bound', '2', '--max-executions', budget);
    const b = await check(`w2-${budget}`, ...size, '--preemption-bound', '2', '--max-executions', budget, '--workers', '2');
    assert.equal(b.summary.executions, Number(budget));
    assert.deepEqual(untimed(b), untimed(a), budget);
  }
  // A mutant: the same violation at the same level, and the same counterexample file.
  const mutant = ['--set', 'vcpus=3', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2', '--mutate', 'fault-skip-seq-check'];
  await sameViolation(check, 'm', mutant);
});

test('check --strategy auto --workers 2: PCT striped over the workers, then the levels on them, the JSON of one worker', async () => {
  const auto = (name: string, ...args: string[]) => checkWith(['--strategy', 'auto'], name, ...args);
  // PCT's 20,000 executions, then bound 0, a try and bound 1.
  const one = await auto('a1', '--preemption-bound', '1');
  const two = await auto('a2', '--preemption-bound', '1', '--workers', '2');
  assert.equal(two.code, 0, two.stderr);
  assert.equal(two.summary.executions, 20_000 + 6 + 6 + 423);
  assert.deepEqual(untimed(two), untimed(one));
  // Cut inside PCT: no levels.
  const p1 = await auto('p1', '--max-executions', '500');
  const p2 = await auto('p2', '--max-executions', '500', '--workers', '2');
  assert.equal(p2.summary.strategy, 'pct');
  assert.equal(p2.summary.preemptionBounds, undefined);
  assert.deepEqual(untimed(p2), untimed(p1));
  // A bug PCT finds: the same violation, execution and counterexample.
  const mutant = ['--set', 'vcpus=3', '--mutate', 'fault-skip-range-check'];
  await sameViolation(auto, 'am', mutant);
});

test('check --iterative-bound: refused with another strategy or split into parts, in one line, exit 2', async () => {
  for (const [args, pattern] of [
    [['--strategy', 'pct', '--iterative-bound'], /^mmulab: --iterative-bound: expected --strategy dfs, not pct$/],
    [
      ['--iterative-bound', '--por', 'dpor', '--workers', '2'],
      /^mmulab: --workers 2: --iterative-bound with --por dpor cannot be split into parts; expected --por states/,
    ],
    [['--iterative-bound', '--shard', '0/2'], /^mmulab: --shard 0\/2: --iterative-bound cannot be split into parts/],
  ] as const) {
    const r = await cli('check', 'fault-vs-invalidation-mini', ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), pattern);
  }
});

test('check --iterative-bound: one worker splits a level as the workers do, so the figures agree', async () => {
  // The split's nodes are not looked up in the table of states, so a split can
  // reach one state twice and run more executions than one DFS of the whole
  // tree (at 1x2x1 with bound 3, before begin and the first range_add were two
  // steps: 2,945 against 2,885). One worker splits as two do, so their figures
  // agree whatever the split does; here it runs what one DFS runs.
  const size = ['--set', 'vcpus=1', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=1', '--preemption-bound', '3'];
  const one = await check('split1', ...size);
  const two = await check('split2', ...size, '--workers', '2');
  const plain = await checkWith(['--strategy', 'dfs'], 'split-plain', ...size);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  assert.deepEqual(
    one.summary.preemptionBounds.filter((l) => l.preemptionBound !== null).map((l) => [l.preemptionBound, l.executions]),
    two.summary.preemptionBounds.filter((l) => l.preemptionBound !== null).map((l) => [l.preemptionBound, l.executions]),
  );
  assert.deepEqual(untimed(two), untimed(one));
  assert.equal(one.summary.preemptionBounds.find((l) => l.preemptionBound === 3)?.executions, plain.summary.executions);
  assert.equal(plain.summary.executions, 3_220);
});
