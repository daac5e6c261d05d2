import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-check-shard-');
const SIZE = ['--set', 'vcpus=2', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1'];

type CheckJson = Record<string, unknown> & { summary: Record<string, unknown>; violation: { kind: string } | null };

/** SIZE but the knobs `args` sets (`--set vcpus=1`): each --set key is given once. */
function sizeBut(args: readonly string[]): string[] {
  const keys = new Set(args.flatMap((a, i) => (args[i - 1] === '--set' ? [a.slice(0, a.indexOf('='))] : [])));
  return SIZE.flatMap((a) => (a === '--set' || keys.has(a.slice(0, a.indexOf('='))) ? [] : ['--set', a]));
}

async function check(name: string, ...args: string[]): Promise<CheckJson> {
  const json = join(dir, `${name}.json`);
  const r = await cli(
    'check',
    'fault-vs-invalidation-mini',
    ...sizeBut(args),
    '--json',
    json,
    '--out',
    join(dir, `${name}-cex.json`),
    '--no-minimise',
    ...args,
  );
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return load(json) as CheckJson;
}

test("check --workers 2 and 3 give the JSON of --workers 1, parts included (random and pct, --max-executions; the parts were each worker's)", async () => {
  for (const strategy of ['random', 'pct']) {
    const one = await check(`${strategy}-w1`, '--strategy', strategy, '--max-executions', '401');
    assert.equal(one.summary.executions, 401);
    assert.equal((one.parts as unknown[]).length, 1);
    for (const workers of ['2', '3']) {
      const more = await check(`${strategy}-w${workers}`, '--strategy', strategy, '--max-executions', '401', '--workers', workers);
      assert.deepEqual(more, one, `${strategy} --workers ${workers}`);
    }
  }
});

/** dfs of a shard with --workers 2 (subtrees taken on demand) and with --workers 1: the same JSON but the file names the command line gave. */
async function dfsAgrees(name: string, ...args: string[]): Promise<CheckJson> {
  const one = await check(`${name}-w1`, '--strategy', 'dfs', '--preemption-bound', '1', ...args, '--shard', '0/1');
  const two = await check(`${name}-w2`, '--strategy', 'dfs', '--preemption-bound', '1', ...args, '--shard', '0/1', '--workers', '2');
  const same = (j: CheckJson) => ({ ...j, shard: null, counterexample: j.counterexample === null ? null : readFileSync(j.counterexample as string, 'utf8') });
  assert.deepEqual(same(two), same(one));
  assert.equal((two.parts as unknown[]).length, 1);
  return two;
}

test('check --shard 0/1 --workers 2 with dfs takes subtrees on demand: the JSON of --workers 1 (exhausted)', async () => {
  const r = await dfsAgrees('dfs');
  assert.equal(r.summary.exhausted, true);
});

test('check --shard 0/1 --workers 2 with dfs takes subtrees on demand: the JSON of --workers 1 (a violation)', async () => {
  const r = await dfsAgrees('dfs-mutant', '--mutate', 'fault-skip-range-check');
  assert.equal(r.violation?.kind, 'stale-translation');
  assert.equal(r.summary.violationExecution, (r.summary.executions as number) - 1);
});

/** dfs with a preemption bound on 2 and on 3 workers, which share out the top of the tree branch by branch: the same JSON. */
async function branchesAgree(name: string, ...args: string[]): Promise<CheckJson> {
  const two = await check(`${name}-b2`, '--strategy', 'dfs', '--preemption-bound', '1', ...args, '--workers', '2');
  const three = await check(`${name}-b3`, '--strategy', 'dfs', '--preemption-bound', '1', ...args, '--workers', '3');
  const same = (j: CheckJson) => ({ ...j, counterexample: j.counterexample === null ? null : readFileSync(j.counterexample as string, 'utf8') });
  assert.deepEqual(same(three), same(two));
  return two;
}

test('check --workers 2 and 3 with bounded dfs share out the branches of the top: the same JSON (exhausted), about the executions of one worker', async () => {
  const one = await check('b1', '--strategy', 'dfs', '--preemption-bound', '1');
  const r = await branchesAgree('b');
  assert.equal(r.summary.exhausted, true);
  const [n, m] = [r.summary.executions as number, one.summary.executions as number];
  assert.ok(Math.abs(n - m) <= m * 0.1, `${n} executions in branches against ${m}`);
});

test('check --workers 2 and 3 with bounded dfs, on a violation: the JSON and counterexample of --workers 1 (one DFS)', async () => {
  const r = await branchesAgree('b-mutant', '--mutate', 'fault-skip-range-check');
  const one = await check('b-mutant-w1', '--strategy', 'dfs', '--preemption-bound', '1', '--mutate', 'fault-skip-range-check');
  assert.deepEqual(
    { ...r, counterexample: readFileSync(r.counterexample as string, 'utf8') },
    { ...one, counterexample: readFileSync(one.counterexample as string, 'utf8') },
  );
  assert.equal(r.violation?.kind, 'stale-translation');
  assert.equal(r.summary.violationExecution, (r.summary.executions as number) - 1);
  const replay = await cli('replay', r.counterexample as string);
  assert.equal(replay.code, 1, replay.stderr);
});

test('check --workers 1, 2 and 3 with unbounded dfs explore the branches of the top: the same JSON', async () => {
  const size = ['--set', 'vcpus=1'];
  const one = await check('u1', '--strategy', 'dfs', ...size);
  const two = await check('u2', '--strategy', 'dfs', ...size, '--workers', '2');
  const three = await check('u3', '--strategy', 'dfs', ...size, '--workers', '3');
  assert.deepEqual(three, two);
  assert.deepEqual(one, two);
  assert.equal(two.summary.exhausted, true);
  // Two vCPUs: the branches run a few more executions than one DFS, on any number of workers.
  const pair = ['--set', 'vcpus=2', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1'];
  const pairOne = await check('p1', '--strategy', 'dfs', ...pair);
  const pairTwo = await check('p2', '--strategy', 'dfs', ...pair, '--workers', '2');
  assert.deepEqual(pairOne, pairTwo);
  assert.equal(pairOne.summary.executions, 82_337);
});

test('check --workers 2 with bounded dfs stops at --time-limit: partial, not exhausted, said so', async () => {
  const json = join(dir, 'b-time.json');
  const r = await cli(
    'check',
    'fault-vs-invalidation-mini',
    '--set',
    'vcpus=3',
    '--set',
    'invalidations=3',
    '--set',
    'faultsPerVcpu=2',
    '--preemption-bound',
    '2',
    '--workers',
    '2',
    '--time-limit',
    '1',
    '--json',
    json,
  );
  assert.equal(r.code, 0, r.stderr);
  const j = load(json) as CheckJson;
  assert.equal(j.summary.stoppedBy, 'time-limit');
  assert.equal(j.summary.exhausted, false);
  assert.ok((j.summary.executions as number) > 0);
});

// dfs parts merge the same way; test/check/shard.test.ts checks their figures.
test('mmulab merge puts check --shard parts back together: the unsharded verdict (random with a violation; a world of one interleaving, below)', async () => {
  for (const [name, args] of [['random', ['--strategy', 'random', '--mutate', 'fault-skip-range-check']]] as const) {
    const whole = await check(`${name}-whole`, ...args, '--shard', '0/1');
    const parts = [0, 1, 2].map((i) => join(dir, `${name}-p${i}.json`));
    for (let i = 0; i < 3; i++) await check(`${name}-p${i}`, ...args, '--shard', `${i}/3`);
    const out = join(dir, `${name}-merged.json`);
    const r = await cli('merge', parts[2]!, parts[0]!, parts[1]!, '--json', out);
    assert.equal(r.code, whole.violation ? 1 : 0, r.stderr);
    const merged = load(out) as CheckJson;
    assert.equal(merged.format, 'mmulab-check/1');
    assert.equal(merged.partial, false);
    for (const k of ['executions', 'exhausted', 'stoppedBy', 'maxDepth', 'violationExecution'])
      assert.equal(merged.summary[k], whole.summary[k], `${name} ${k}`);
    assert.equal(merged.violation?.kind ?? null, whole.violation?.kind ?? null);
    // A missing part leaves the result partial.
    await cli('merge', parts[0]!, parts[1]!, '--json', out);
    assert.equal(load(out).partial, true);
  }
  await oneInterleavingMerges();
});

/**
 * A world of one interleaving (one vCPU, no invalidation), checked whole and in
 * 3 parts merged, with each strategy: the same verdict, and the same JSON but
 * wall times and the parts a dfs records, one per shard (a probe: the default's
 * parts, dfs with bound 2, merged to 'every interleaving with at most 2
 * preemptions was run' where the bare check says it ran the whole space).
 */
async function oneInterleavingMerges(): Promise<void> {
  const world = ['fault-vs-invalidation-mini', '--set', 'vcpus=1', '--set', 'invalidations=0', '--set', 'faultsPerVcpu=2'];
  const verdict = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('no violation'));
  const run = async (name: string, ...args: string[]) => {
    const json = join(dir, `${name}.json`);
    const r = await captured(args[0] === 'merge' ? [...args, '--json', json] : [...args, '--json', json, '--out', join(dir, `${name}-cex.json`)]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return { verdict: verdict(r.stdout), json: load(json) as CheckJson };
  };
  // Without a strategy the parts are dfs with the default bound: the bare check (auto) is the verdict to give, --shard 0/1 the JSON.
  for (const [name, args, reference] of [
    ['one-default', [], ['--shard', '0/1']],
    ['one-pct', ['--strategy', 'pct'], []],
    ['one-random', ['--strategy', 'random'], []],
    ['one-dfs', ['--strategy', 'dfs'], []],
    ['one-bound', ['--preemption-bound', '2'], []],
  ] as const) {
    const whole = await run(`${name}-whole`, 'check', ...world, ...args);
    const same = await run(`${name}-ref`, 'check', ...world, ...args, ...reference);
    const parts = [0, 1, 2].map((i) => join(dir, `${name}-p${i}.json`));
    for (let i = 0; i < 3; i++) await run(`${name}-p${i}`, 'check', ...world, ...args, '--shard', `${i}/3`);
    const merged = await run(`${name}-merged`, 'merge', parts[1]!, parts[2]!, parts[0]!);
    assert.equal(whole.verdict.length, 1, `${name}: ${whole.verdict}`);
    assert.deepEqual(merged.verdict, whole.verdict, name);
    const dfs = (same.json.exploration as { strategy: { kind: string } }).strategy.kind === 'dfs';
    const comparable = (j: CheckJson) => ({ ...j, shard: null, parts: dfs ? null : j.parts });
    assert.deepEqual(comparable(merged.json), comparable(same.json), name);
  }
}

test('check --workers 2 (regression): random with a violation records its parts cut at the first one, so the JSON is that of every run and of the merged --shard 0/2 and 1/2 (seed 5, the mini at its size)', async () => {
  // Part 0's violation is unit 8 (the 9th execution), part 1's own unit 9: part 1 stopped on hearing of it ('elsewhere') or ran on to 9, as timing went.
  const args = [
    'fault-vs-invalidation-mini',
    '--mutate',
    'fault-skip-range-check',
    '--strategy',
    'random',
    '--seed',
    '5',
    '--max-executions',
    '3000',
    '--no-minimise',
  ];
  const run = async (name: string, ...more: string[]) => {
    const json = join(dir, `${name}.json`);
    const r = await cli('check', ...args, '--json', json, '--out', join(dir, `${name}-cex.json`), ...more);
    assert.equal(r.code, 1, r.stderr);
    const j = load(json) as CheckJson;
    return { ...j, counterexample: readFileSync(j.counterexample as string, 'utf8') } as CheckJson;
  };
  const runs = [await run('cut-w2a', '--workers', '2'), await run('cut-w2b', '--workers', '2'), await run('cut-w2c', '--workers', '2')];
  for (const r of runs.slice(1)) assert.deepEqual(r, runs[0]);
  // The two workers' parts, cut there, are recorded as the one part of one worker: 9 executions, the last the violation.
  const parts = runs[0]!.parts as { summary: Record<string, unknown>; part: Record<string, unknown> }[];
  assert.deepEqual(
    parts.map((p) => [p.summary.executions, p.summary.stoppedBy, p.part.shard, p.part.lastUnit, p.part.stopUnit]),
    [[9, 'violation', { index: 0, count: 1 }, 8, 8]],
  );
  assert.deepEqual(runs[0], await run('cut-w1'));
  // Each shard alone runs to its own violation; merged (in either order), they are cut as the workers' parts are.
  await run('cut-s0', '--shard', '0/2');
  await run('cut-s1', '--shard', '1/2');
  for (const order of [
    ['cut-s1', 'cut-s0'],
    ['cut-s0', 'cut-s1'],
  ]) {
    const out = join(dir, `cut-merged-${order[0]}.json`);
    const r = await cli('merge', ...order.map((n) => join(dir, `${n}.json`)), '--json', out);
    assert.equal(r.code, 1, r.stderr);
    const merged = load(out) as CheckJson;
    // The part's counterexample file records the part that found it (found), which the unsharded check's has no call to.
    const cex = JSON.parse(readFileSync(merged.counterexample as string, 'utf8'));
    assert.deepEqual(cex.found, { shard: '0/2', execution: 8 });
    delete cex.found;
    assert.deepEqual({ ...merged, counterexample: `${JSON.stringify(cex, null, 2)}\n` }, runs[0]);
  }
});

test("check --shard i/n with dfs: the part's counterexample file records the part, and no execution (a dfs part numbers only its own subtrees' executions: its violationExecution is null), where it recorded execution null", async () => {
  const j = await check('dfs-found', '--mutate', 'fault-skip-seq-check', '--strategy', 'dfs', '--shard', '0/2');
  assert.equal(j.violation?.kind, 'stale-translation');
  assert.equal(j.summary.violationExecution, null);
  const cex = JSON.parse(readFileSync(join(dir, 'dfs-found-cex.json'), 'utf8'));
  assert.deepEqual(cex.found, { shard: '0/2' });
  // The pct part's, for contrast: the execution it found it at, as its summary has it.
  const p = await check('pct-found', '--mutate', 'fault-skip-seq-check', '--strategy', 'pct', '--shard', '0/2');
  const pcex = JSON.parse(readFileSync(join(dir, 'pct-found-cex.json'), 'utf8'));
  assert.deepEqual(pcex.found, { shard: '0/2', execution: p.summary.violationExecution });
  assert.equal(typeof p.summary.violationExecution, 'number');
  // The file replays as written, and as an older mmulab's (execution null) still does.
  assert.equal((await cli('replay', join(dir, 'dfs-found-cex.json'))).code, 1);
  const older = join(dir, 'dfs-found-older-cex.json');
  writeFileSync(older, JSON.stringify({ ...cex, found: { shard: '0/2', execution: null } }));
  const r = await cli('replay', older);
  assert.equal(r.code, 1, r.stderr);
});

test('check: bad --shard and --workers are refused in one line, exit 2', async () => {
  for (const [args, pattern] of [
    [['--shard', '3/2'], /^mmulab: --shard 3\/2: expected 0 <= i < n$/],
    // A probe: 1/0 and 0/0 were told 0 <= i < n, and 01/2 was taken for 1/2.
    [['--shard', '1/0'], /^mmulab: --shard 1\/0: expected n >= 1$/],
    [['--shard', '0/0'], /^mmulab: --shard 0\/0: expected n >= 1$/],
    [['--shard', '01/2'], /^mmulab: --shard 01\/2: expected i\/n with no leading zeros, e.g. 1\/2$/],
    [['--shard', '1/02'], /^mmulab: --shard 1\/02: expected i\/n with no leading zeros, e.g. 1\/2$/],
    [['--workers', '0'], /^mmulab: --workers 0: expected at least 1$/],
    [['--workers', 'two'], /^mmulab: --workers two: expected a positive integer$/],
    [['--set', 'vcpus=x'], /^mmulab: --set vcpus=x: expected a positive integer$/],
    [['--set', 'vcpus=2000'], /^mmulab: --set vcpus=2000: expected at most 1024$/],
    [['--strategy', 'auto', '--shard', '0/2'], /^mmulab: --shard 0\/2: --strategy auto cannot be split into parts/],
  ] as const) {
    const r = await cli('check', 'fault-vs-invalidation-mini', ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), pattern);
  }
});

test('check --workers K warns, on one line, when K is more than the cores, and not otherwise', { skip: availableParallelism() >= 256 }, async () => {
  const run = (k: number) =>
    cli(
      'check',
      'fault-vs-invalidation-mini',
      ...SIZE,
      '--strategy',
      'pct',
      '--max-executions',
      '20',
      '--workers',
      String(k),
      '--out',
      join(dir, `warn-${k}-cex.json`),
    );
  const over = availableParallelism() + 1;
  const many = await run(over);
  assert.equal(many.code, 0, many.stderr);
  assert.equal(
    many.stderr,
    `mmulab: warning: --workers ${over} is more than the ${availableParallelism()} cores here: the workers take turns on them, each starting and warming up on its own, which costs more than it gains\n`,
  );
  const one = await run(1);
  assert.equal(one.stderr, '');
});

test('check --strategy dfs --max-executions with --workers 2: the JSON of --workers 1 (the budget is spent in one DFS order, not in whichever order parts finish)', async () => {
  const args = ['--strategy', 'dfs', '--max-executions', '1500'];
  const one = await check('budget-w1', ...args);
  const two = await check('budget-w2', ...args, '--workers', '2');
  const again = await check('budget-w2b', ...args, '--workers', '2');
  const fixed = (j: CheckJson) => ({ ...j, summary: { ...j.summary, wallMs: 0, executionsPerSec: 0 }, parts: null, counterexample: null });
  assert.equal(one.summary.executions, 1500);
  assert.deepEqual(fixed(two), fixed(one));
  assert.deepEqual(fixed(again), fixed(one));
});

test("check --mutate counts the executions the mutant acted in (summary.mutantActedExecutions): the same JSON on 1, 2 and 3 workers (bounded dfs, random, pct, auto), and mmulab merge of --shard parts sums the parts' counts to the whole's", async () => {
  const mutant = ['--mutate', 'invalidate-skip-tlb-flush'];
  const runs: [string, string[]][] = [
    ['dfs', ['--strategy', 'dfs', '--preemption-bound', '1']],
    ['random', ['--strategy', 'random', '--max-executions', '301']],
    ['pct', ['--strategy', 'pct', '--max-executions', '301']],
    ['auto', []],
  ];
  for (const [name, args] of runs) {
    const one = await check(`acted-${name}-w1`, ...mutant, ...args);
    assert.equal(one.violation, null, name);
    const acted = one.summary.mutantActedExecutions as number;
    assert.ok(acted > 0 && acted < (one.summary.executions as number), `${name}: ${acted}`);
    for (const workers of ['2', '3']) {
      const more = await check(`acted-${name}-w${workers}`, ...mutant, ...args, '--workers', workers);
      assert.deepEqual(more.summary, one.summary, `${name} --workers ${workers}`);
      assert.deepEqual(more, one, `${name} --workers ${workers}`);
    }
    if (name === 'auto') continue;
    const parts = [0, 1, 2].map((i) => join(dir, `acted-${name}-p${i}.json`));
    const counts: number[] = [];
    for (let i = 0; i < 3; i++)
      counts.push((await check(`acted-${name}-p${i}`, ...mutant, ...args, '--shard', `${i}/3`)).summary.mutantActedExecutions as number);
    const out = join(dir, `acted-${name}-merged.json`);
    const r = await cli('merge', parts[1]!, parts[2]!, parts[0]!, '--json', out);
    assert.equal(r.code, 0, r.stderr);
    const merged = load(out) as CheckJson;
    assert.equal(merged.summary.mutantActedExecutions, acted, `${name}: parts ${counts.join(' + ')}`);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      acted,
      name,
    );
  }
});
