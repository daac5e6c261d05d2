import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-check-default-');

interface Levels {
  exploration: { strategy: Record<string, unknown> };
  summary: { exhausted: boolean; executions: number; preemptionBounds?: { preemptionBound: number | null; executions: number; exhausted: boolean }[] };
  violation: { kind: string } | null;
}

test('check with no strategy nor bound: PCT, then every interleaving with at most 2 preemptions, bound by bound; a verdict, exit 0', async () => {
  const json = join(dir, 'default.json');
  const r = await captured(['check', 'fault-vs-invalidation-mini', '--json', json, '--out', join(dir, 'default-cex.json')]);
  assert.equal(r.code, 0, r.stderr);
  const j = load(json) as unknown as Levels;
  assert.deepEqual(j.exploration.strategy, { kind: 'auto', preemptionBound: 2 });
  const levels = j.summary.preemptionBounds!;
  assert.deepEqual(
    levels.filter((l) => l.preemptionBound !== null).map((l) => [l.preemptionBound, l.exhausted]),
    [
      [0, true],
      [1, true],
      [2, true],
    ],
  );
  // auto's PCT ran the executions the levels did not.
  const pct = j.summary.executions - levels.reduce((n, l) => n + l.executions, 0);
  assert.equal(pct, 20_000);
  assert.match(r.stdout, /^pct \(depth 3\): 20,000 executions, no violation$/m);
  assert.match(r.stdout, /^no violation: every interleaving with at most 2 preemptions was run$/m);
  assert.match(r.stdout, /^\(the default bound, 2: --preemption-bound N runs every interleaving with at most N;/m);
  // Nothing was cut at --max-steps: no caveat.
  assert.doesNotMatch(r.stdout, /cut at --max-steps/);
});

test('check: executions cut at --max-steps with nothing awaited qualify the verdict, which covers only the steps before the cut', async () => {
  const r = await captured([
    'check',
    'fault-vs-invalidation-mini',
    '--strategy',
    'pct',
    '--max-executions',
    '50',
    '--max-steps',
    '5',
    '--out',
    join(dir, 'cut-cex.json'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^\(but 50 executions were cut at --max-steps 5 with nothing awaited: the verdict covers their first 5 steps only; a larger --max-steps runs the rest\)$/m,
  );
  // No step at all, or no execution, would be a verdict on nothing: refused.
  for (const flag of ['--max-steps', '--max-executions']) {
    const zero = await cli('check', 'fault-vs-invalidation-mini', flag, '0');
    assert.equal(zero.code, 2);
    assert.equal(zero.stderr.trim(), `mmulab: ${flag} 0: expected at least 1`);
  }
});

test('check --mutate with no strategy: PCT finds it at once; the counterexample replays to the same violation', async () => {
  const json = join(dir, 'mutant.json');
  const cex = join(dir, 'mutant-cex.json');
  const r = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--json', json, '--out', cex);
  assert.equal(r.code, 1, r.stderr);
  const j = load(json) as unknown as Levels & { summary: { strategy: string } };
  assert.equal(j.violation?.kind, 'stale-translation');
  assert.equal(j.summary.strategy, 'pct');
  assert.ok(j.summary.executions <= 20_000, String(j.summary.executions));
  const replay = await cli('replay', cex, '--json', join(dir, 'mutant-replayed.json'));
  assert.equal(replay.code, 1, replay.stderr);
  assert.equal((JSON.parse(readFileSync(join(dir, 'mutant-replayed.json'), 'utf8')) as { property: string }).property, 'stale-translation');
});

test("check with no strategy: an option only one strategy reads picks it (dfs: --preemption-bound, --iterative-bound, --por, --shard; pct: --pct-depth), and another strategy's option is refused in one line, exit 2", async () => {
  const small = ['--set', 'vcpus=1', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1'];
  const kinds: [string[], Record<string, unknown>][] = [
    [['--preemption-bound', '1'], { kind: 'dfs', preemptionBound: 1 }],
    [['--iterative-bound', '--preemption-bound', '1'], { kind: 'dfs', iterative: true, preemptionBound: 1 }],
    [['--por', 'dpor', '--max-executions', '50'], { kind: 'dfs' }],
    // Alone, with the bound a bare check ends with (its parts merge to that verdict).
    [['--shard', '0/2', '--max-executions', '50'], { kind: 'dfs', preemptionBound: 2 }],
    [['--pct-depth', '2', '--max-executions', '50'], { kind: 'pct', depth: 2 }],
  ];
  for (const [args, strategy] of kinds) {
    const json = join(dir, `kind-${args[0]!.slice(2)}.json`);
    const r = await cli('check', 'fault-vs-invalidation-mini', ...small, ...args, '--json', json, '--out', join(dir, 'kind-cex.json'));
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    const got = (load(json) as unknown as Levels).exploration.strategy;
    assert.deepEqual(
      Object.fromEntries(Object.entries(got).filter(([, v]) => v !== undefined)),
      { ...strategy, ...(strategy.kind === 'dfs' && args[0] === '--por' ? { por: 'dpor' } : {}) },
      args.join(' '),
    );
  }
  const bad = await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'dfs', '--pct-depth', '2');
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), 'mmulab: --pct-depth: expected --strategy pct, not dfs');
  const zero = await cli('check', 'fault-vs-invalidation-mini', '--pct-depth', '0');
  assert.equal(zero.code, 2);
  assert.equal(zero.stderr.trim(), 'mmulab: --pct-depth 0: expected at least 1 (d-1 priority change points)');
});

test('check --json: the violation is the one printed and held by the counterexample (minimised), not the one the search first ran into', async () => {
  const dir = tempDir('mmulab-check-json-violation-');
  const [json, cex] = [join(dir, 'v.json'), join(dir, 'c.json')];
  const r = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--json', json, '--out', cex);
  assert.equal(r.code, 1, r.stderr);
  const summary = JSON.parse(readFileSync(json, 'utf8'));
  const written = JSON.parse(readFileSync(cex, 'utf8'));
  assert.deepEqual(summary.violation, written.violation);
  assert.ok(summary.minimisation.original.steps > written.schedule.choices.length, 'it was minimised');
});

test('check with no strategy, on a world of one interleaving: PCT stops after its one execution, the levels run it once more and say the space was exhausted; the same JSON on one worker or two (a probe: 20,001 executions, 20,000 of them PCT running the same one)', async () => {
  const sized = ['fault-vs-invalidation-mini', '--set', 'vcpus=1', '--set', 'invalidations=0'];
  const runs: Record<string, unknown>[] = [];
  for (const w of [1, 2]) {
    const json = join(dir, `one-${w}.json`);
    const r = await captured(['check', ...sized, '--workers', String(w), '--json', json, '--out', join(dir, `one-cex-${w}.json`)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^auto: 2 executions \(exhausted\), /);
    assert.match(r.stdout, /^pct \(depth 3\): 1 execution, no violation \(the only one: no two threads to choose from, no draw\)$/m);
    assert.match(r.stdout, /^at most 0 preemptions: 1 execution, exhausted$/m);
    assert.match(r.stdout, /^no violation: every interleaving was run \(the last bound cut none: that is the whole space\)$/m);
    runs.push(load(json));
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.equal((runs[0] as unknown as Levels).summary.executions, 2);
});
