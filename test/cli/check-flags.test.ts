import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli } from './in-process-cli.js';

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

test("check: a shard's verdict covers its part, not the whole space; the default-bound footer only when the bound was the default", async () => {
  const size = ['--set', 'vcpus=3', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2'];
  const part = await captured(['check', S, ...size, '--preemption-bound', '1', '--shard', '0/3', '--out', join(dir, 'p.json')]);
  assert.equal(part.code, 0, part.stderr);
  assert.match(
    part.stdout,
    /^no violation in shard 0\/3 \(its part only; mmulab merge of every part gives the whole\): every interleaving with at most 1 preemption was run$/m,
  );
  const explicit = await captured(['check', S, '--iterative-bound', '--preemption-bound', '1', '--out', join(dir, 'i.json')]);
  assert.equal(explicit.code, 0, explicit.stderr);
  assert.doesNotMatch(explicit.stdout, /the default bound/);
  const byDefault = await captured(['check', S, '--out', join(dir, 'd.json')]);
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

test('check, audit and replay --schedule name the scenario file of bad input found once the model is built; the printed replay command is quoted for the shell', async () => {
  const pt3 = join(dir, 'pt3.yaml');
  writeFileSync(pt3, readFileSync('scenarios/memslot-delete-mini.yaml', 'utf8').replace('pageTableGfns: 32', 'pageTableGfns: 3'));
  for (const args of [
    ['check', pt3],
    ['audit', pt3],
    ['replay', pt3, '--schedule', 'AA'],
  ]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`mmulab: ${pt3}:20:18 workload.pageTableGfns: 3 pages cannot hold`), r.stderr);
  }
  const odd = join(dir, 'c x$1.json');
  const found = await captured(['check', S, '--mutate', 'fault-skip-seq-check', '--out', odd]);
  assert.equal(found.code, 1, found.stderr);
  assert.match(found.stdout, new RegExp(`replay it with:\\n  mmulab replay '${odd.replace(/[$.]/g, '\\$&')}'\\n`));
});

test('merge --json on a part counterexample file is refused before anything is written (the replay it prints would find a summary)', async () => {
  const parts = [0, 1].map((i) => join(dir, `mp${i}.json`));
  const cexes = [0, 1].map((i) => join(dir, `mcex${i}.json`));
  for (const i of [0, 1]) {
    const r = await cli('check', S, '--mutate', 'fault-skip-seq-check', '--strategy', 'dfs', '--shard', `${i}/2`, '--json', parts[i]!, '--out', cexes[i]!);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
  }
  const before = readFileSync(cexes[0]!, 'utf8');
  const r = await cli('merge', ...parts, '--json', cexes[0]!);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^mmulab: --json .*mcex0\.json: is the counterexample file of .*mp0\.json .*; it would be overwritten, expected another file$/);
  assert.equal(readFileSync(cexes[0]!, 'utf8'), before);
});

test("merge warns when parts wrote their counterexamples to one file, saying from its record (found) whether it holds the one reported; when not, it records none (a probe: part 1's file recorded for part 0's violation)", async () => {
  const shared = join(dir, 'shared-cex.json');
  const parts = [0, 1].map((i) => join(dir, `sp${i}.json`));
  for (const i of [0, 1])
    await cli('check', S, '--mutate', 'fault-skip-seq-check', '--strategy', 'dfs', '--shard', `${i}/2`, '--json', parts[i]!, '--out', shared);
  // The file records the part that wrote it (found): part 1's, written last, not part 0's, whose violation comes first.
  assert.deepEqual(JSON.parse(readFileSync(shared, 'utf8')).found, { shard: '1/2' });
  const r = await cli('merge', ...parts, '--json', join(dir, 'sp.json'));
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    `mmulab: warning: ${parts[0]} and ${parts[1]} both wrote their counterexample to ${shared}: it holds shard 1/2's, written last, not the one reported here; give each part its own --out\n`,
  );
  // So the merge records none (a probe: it recorded part 1's file for part 0's violation).
  const j = JSON.parse(readFileSync(join(dir, 'sp.json'), 'utf8'));
  assert.equal(j.counterexample, null);
  assert.deepEqual(j.counterexampleNotFound, { part: parts[0], path: shared });
  // Written the other way round, the file is the one reported, and said to be.
  for (const i of [1, 0])
    await cli('check', S, '--mutate', 'fault-skip-seq-check', '--strategy', 'dfs', '--shard', `${i}/2`, '--json', parts[i]!, '--out', shared);
  const back = await cli('merge', ...parts, '--json', join(dir, 'sp.json'));
  assert.match(
    back.stderr,
    /both wrote their counterexample to .*shared-cex\.json: it holds shard 0\/2's, the one reported here, written last; give each part its own --out\n$/,
  );
  assert.equal(JSON.parse(readFileSync(join(dir, 'sp.json'), 'utf8')).counterexample, shared);
  // Each its own --out: no warning.
  const own = [0, 1].map((i) => join(dir, `op${i}.json`));
  for (const i of [0, 1])
    await cli('check', S, '--mutate', 'fault-skip-seq-check', '--strategy', 'dfs', '--shard', `${i}/2`, '--json', own[i]!, '--out', join(dir, `ocex${i}.json`));
  assert.doesNotMatch((await cli('merge', ...own)).stderr, /warning/);
});

test("merge --json records the counterexample so that it is found from the merged file's folder (an absolute path)", async () => {
  const out = join(dir, 'merged-out');
  mkdirSync(out, { recursive: true });
  const parts = [0, 1].map((i) => join(dir, `rp${i}.json`));
  for (const i of [0, 1])
    await cli(
      'check',
      S,
      '--mutate',
      'fault-skip-seq-check',
      '--strategy',
      'dfs',
      '--shard',
      `${i}/2`,
      '--json',
      parts[i]!,
      '--out',
      join(dir, `rcex${i}.json`),
    );
  const merged = join(out, 'merged.json');
  assert.equal((await cli('merge', ...parts, '--json', merged)).code, 1);
  const cex = JSON.parse(readFileSync(merged, 'utf8')).counterexample as string;
  assert.ok(existsSync(resolve(out, cex)), `${cex} from ${out}`);
});

test('merge of parts of different splits says so (it asked "a part given twice?")', async () => {
  const a = join(dir, 'split2.json');
  const b = join(dir, 'split3.json');
  await cli('check', S, '--preemption-bound', '1', '--shard', '0/2', '--json', a, '--out', join(dir, 'split-cex.json'));
  await cli('check', S, '--preemption-bound', '1', '--shard', '1/3', '--json', b, '--out', join(dir, 'split-cex.json'));
  const r = await cli('merge', a, b);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /parts of different splits \(--shard i\/2 and i\/3\); expected the parts of one --shard i\/n\)$/m);
});

test('check --shard alone (regression): the bound a bare check ends with, so the parts finish and merge to its verdict', async () => {
  // It ran dfs unbounded: shard 0/2 of the mini at its size ran for minutes where a bare check takes a second.
  const parts = [0, 1].map((i) => join(dir, `alone${i}.json`));
  for (const [i, part] of parts.entries()) {
    const r = await captured(['check', S, '--shard', `${i}/2`, '--json', part, '--out', join(dir, 'alone-cex.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^no violation in shard ${i}/2 .*: every interleaving with at most 2 preemptions was run$`, 'm'));
  }
  const spec = JSON.parse(readFileSync(parts[0]!, 'utf8')).exploration.strategy;
  assert.deepEqual(spec, { kind: 'dfs', preemptionBound: 2 });
  const merged = await captured(['merge', ...parts]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /^no violation: every interleaving with at most 2 preemptions was run$/m);
  // An explicit --strategy dfs still means the whole space.
  const whole = await cli('check', S, '--strategy', 'dfs', '--shard', '0/2', '--max-executions', '50', '--json', join(dir, 'whole0.json'));
  assert.equal(JSON.parse(readFileSync(join(dir, 'whole0.json'), 'utf8')).exploration.strategy.preemptionBound, undefined, whole.stderr);
});

test('check: random or pct with neither --max-executions nor --time-limit says, where no progress bar shows, that it runs until a violation or SIGINT (a probe: a script waited in silence)', async () => {
  const out = join(dir, 'endless-cex.json');
  for (const strategy of ['pct', 'random']) {
    const r = await cli('check', S, '--strategy', strategy, '--mutate', 'fault-skip-range-check', '--out', out);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^mmulab: note: ${strategy} runs until a violation or SIGINT \\(or, in a world of one interleaving, after it\\): no --max-executions or --time-limit given$`,
        'm',
      ),
    );
    const bounded = await cli('check', S, '--strategy', strategy, '--mutate', 'fault-skip-range-check', '--max-executions', '100000', '--out', out);
    assert.doesNotMatch(bounded.stderr, /runs until/);
  }
});

test('merge of one check part given twice says so, naming the file once, as sweep merge does (a probe: "t7-1.json: part 1/7 holds subtrees that t7-1.json\'s part 1/7 holds too"); two files of one part are both named', async () => {
  const a = join(dir, 'twice.json');
  const b = join(dir, 'twice-copy.json');
  assert.equal((await cli('check', S, '--preemption-bound', '1', '--shard', '1/7', '--json', a, '--out', join(dir, 'twice-cex.json'))).code, 0);
  writeFileSync(b, readFileSync(a));
  const same = await cli('merge', a, a);
  assert.equal(same.code, 2);
  assert.equal(same.stderr, `mmulab: ${a}: given twice (each part once)\n`);
  const copies = await cli('merge', a, b);
  assert.equal(copies.code, 2);
  assert.equal(copies.stderr, `mmulab: ${b}: part 1/7 holds subtrees that ${a}'s part 1/7 holds too (one part in two files?)\n`);
});
