import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, load } from './in-process-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mmulab-check-por-'));
const size = ['--set', 'vcpus=2', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2', '--preemption-bound', '1'];

async function check(name: string, ...args: string[]) {
  const json = join(dir, `${name}.json`);
  const r = await cli('check', 'fault-vs-invalidation-mini', '--json', json, '--out', join(dir, `${name}-cex.json`), ...args);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, ...(load(json) as { summary: { exhausted: boolean; executions: number }; violation: { kind: string } | null }) };
}

test('check with a preemption bound explores states (--por states) by default: exhausted; with --workers 2, the JSON of --shard 0/1 on one worker', async () => {
  const one = await check('one', ...size);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.summary.exhausted, true);
  const states = await check('states', ...size, '--por', 'states');
  assert.deepEqual({ ...states.summary, wallMs: 0, executionsPerSec: 0 }, { ...one.summary, wallMs: 0, executionsPerSec: 0 });
  const dpor = await check('dpor', ...size, '--por', 'dpor');
  assert.equal(dpor.summary.exhausted, true);
  assert.notEqual(one.summary.executions, dpor.summary.executions, 'another reduction');
  const split = await check('split', ...size, '--por', 'states', '--shard', '0/1');
  const two = await check('two', ...size, '--por', 'states', '--workers', '2');
  const { summary: s2, ...rest2 } = two;
  const { summary: s1, ...rest1 } = split;
  assert.deepEqual({ ...s2, wallMs: 0, executionsPerSec: 0 }, { ...s1, wallMs: 0, executionsPerSec: 0 });
  assert.equal(rest2.violation, rest1.violation);
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
