import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, load } from './in-process-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mmulab-check-iterative-'));

interface Level {
  preemptionBound: number | null;
  executions: number;
  exhausted: boolean;
}

async function check(name: string, ...args: string[]) {
  const json = join(dir, `${name}.json`);
  const r = await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'dfs', '--iterative-bound', '--json', json, '--out', join(dir, `${name}-cex.json`), '--no-minimise', ...args);
  const j = load(json) as { summary: { exhausted: boolean; executions: number; preemptionBounds: Level[] }; violation: { kind: string } | null };
  return { code: r.code, stderr: r.stderr, ...j };
}

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
  assert.equal(r.summary.executions, levels.reduce((a, l) => a + l.executions, 0));
  // The level of bound 1 is what --preemption-bound 1 alone runs.
  assert.equal((await plain('fixed', '--set', 'vcpus=2', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2', '--preemption-bound', '1')).executions, levels[2]!.executions);
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
  assert.ok(levels[levels.length - 1]!.preemptionBound <= 2, JSON.stringify(levels));
});

test('check --iterative-bound: refused with another strategy or split into parts, in one line, exit 2', async () => {
  for (const [args, pattern] of [
    [['--strategy', 'pct', '--iterative-bound'], /^mmulab: --iterative-bound: expected --strategy dfs, not pct$/],
    [['--iterative-bound', '--workers', '2'], /^mmulab: --workers 2: --iterative-bound cannot be split into parts/],
    [['--iterative-bound', '--shard', '0/2'], /^mmulab: --shard 0\/2: --iterative-bound cannot be split into parts/],
  ] as const) {
    const r = await cli('check', 'fault-vs-invalidation-mini', ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), pattern);
  }
});
