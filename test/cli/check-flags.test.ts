import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli, spawned } from './in-process-cli.js';

const dir = tempDir('mmulab-check-flags-');
const S = 'fault-vs-invalidation-mini';

test('check: flags a strategy would ignore are refused on one line (exit 2)', async () => {
  const cases: [string[], string][] = [
    // random ran unbounded with it (23 preemptions in its counterexample); pct's JSON was the same without it.
    [['--strategy', 'random', '--preemption-bound', '0'], 'mmulab: --preemption-bound: expected --strategy dfs or auto, not random'],
    [['--strategy', 'pct', '--preemption-bound', '1'], 'mmulab: --preemption-bound: expected --strategy dfs or auto, not pct'],
    // DPOR keeps no table of states.
    [
      ['--strategy', 'dfs', '--max-states', '5'],
      'mmulab: --max-states: expected --por states (a preemption bound, or --iterative-bound), not dpor, which keeps no table of states',
    ],
    [
      ['--por', 'dpor', '--preemption-bound', '1', '--max-states', '5'],
      'mmulab: --max-states: expected --por states (a preemption bound, or --iterative-bound), not dpor, which keeps no table of states',
    ],
  ];
  for (const [args, message] of cases) {
    const r = await cli('check', S, ...args, '--out', join(dir, 'c.json'));
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), message);
  }
});

test("check: a shard's verdict covers its part, not the whole space; the default-bound footer only when the bound was the default", () => {
  const size = ['--set', 'vcpus=3', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2'];
  const part = spawned('check', S, ...size, '--preemption-bound', '1', '--shard', '0/3', '--out', join(dir, 'p.json'));
  assert.equal(part.code, 0, part.stderr);
  assert.match(
    part.stdout,
    /^no violation in shard 0\/3 \(its part only; mmulab merge of every part gives the whole\): every interleaving with at most 1 preemption was run$/m,
  );
  const explicit = spawned('check', S, '--iterative-bound', '--preemption-bound', '1', '--out', join(dir, 'i.json'));
  assert.equal(explicit.code, 0, explicit.stderr);
  assert.doesNotMatch(explicit.stdout, /the default bound/);
  const byDefault = spawned('check', S, '--out', join(dir, 'd.json'));
  assert.match(byDefault.stdout, /\(the default bound, 2: /);
});

test('check: --trace, --ftrace and --report with no counterexample say they were not written', async () => {
  const r = await cli(
    'check',
    S,
    '--strategy',
    'random',
    '--max-executions',
    '50',
    '--trace',
    join(dir, 't.json'),
    '--report',
    join(dir, 'r.html'),
    '--out',
    join(dir, 'n.json'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `mmulab: no counterexample, so --trace ${join(dir, 't.json')}, --report ${join(dir, 'r.html')} not written\n`);
});
