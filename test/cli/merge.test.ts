import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExplorePart } from '../../src/check/merge.js';
import { mergeParts } from '../../src/check/merge.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-merge-');
const MINI = 'fault-vs-invalidation-mini';

/**
 * The CLI in this process (exit code and stderr). What it prints on stdout is
 * the test runner's channel: `captured` takes it off that channel, for a test to read.
 */
const run = cli;

/** `dir`/name */
const at = (name: string) => join(dir, name);

/** A refusal: exit 2, one line, no stack, matching `pattern`. */
function assertRefused(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
}

/** A copy of JSON file `from` edited by `edit`, written as `to`; returns `to`. */
// biome-ignore lint/suspicious/noExplicitAny: the edits reach into any field of a part file, as a person editing it would
type Json = any;

function edited(from: string, to: string, edit: (j: Json) => void): string {
  const j = JSON.parse(readFileSync(from, 'utf8'));
  edit(j);
  writeFileSync(to, JSON.stringify(j));
  return to;
}

const sweepPart = async (file: string, ...args: string[]) => {
  const r = await run('sweep', MINI, '--vary', 'faultPrecheck=off,lockless', '--workers', '0', '--json', file, ...args);
  assert.equal(r.code, 0, r.stderr);
  return file;
};

/** check of MINI with fault-skip-range-check, by random, unminimised, with `more` options. */
const rangeCheckRandom = (...more: string[]) => run('check', MINI, '--mutate', 'fault-skip-range-check', '--strategy', 'random', '--no-minimise', ...more);

test('merge (regression): sweep parts of different --set sizes, --max-steps or scenario contents are refused, naming the file and what differs', async () => {
  const v1 = await sweepPart(at('v1.json'), '--set', 'vcpus=1', '--shard', '0/2');
  const v4 = await sweepPart(at('v4.json'), '--set', 'vcpus=4', '--shard', '1/2');
  assert.deepEqual(load(v1).sets, ['vcpus=1']);
  assertRefused(await run('merge', v1, v4), /^mmulab: .*v4\.json: --set differs from .*v1\.json's: vcpus=4 against vcpus=1$/);
  const m5 = await sweepPart(at('m5.json'), '--set', 'vcpus=1', '--max-steps', '5', '--shard', '1/2');
  assertRefused(await run('merge', v1, m5), /^mmulab: .*m5\.json: --max-steps differs from .*v1\.json's: 5 against \(none\)$/);
  // Two files called x.yaml in different folders: 2 and 8 vCPUs.
  const text = readFileSync(join('scenarios', `${MINI}.yaml`), 'utf8');
  assert.match(text, /^ {2}vcpus: 2$/m);
  for (const [sub, n] of [
    ['a', 2],
    ['b', 8],
  ] as const) {
    mkdirSync(at(sub));
    writeFileSync(join(at(sub), 'x.yaml'), text.replace(/^ {2}vcpus: 2$/m, `  vcpus: ${n}`));
  }
  const x0 = await sweepPart(at('x0.json'), '--shard', '0/2');
  const cwd = process.cwd();
  const x = async (sub: string, ...args: string[]) => {
    process.chdir(at(sub));
    try {
      return await run(...args);
    } finally {
      process.chdir(cwd);
    }
  };
  const ok = (r: { code: number; stderr: string }, code = 0) => assert.equal(r.code, code, r.stderr);
  ok(await x('a', 'sweep', 'x.yaml', '--vary', 'faultPrecheck=off,lockless', '--workers', '0', '--shard', '0/2', '--json', at('xa.json')));
  ok(await x('b', 'sweep', 'x.yaml', '--vary', 'faultPrecheck=off,lockless', '--workers', '0', '--shard', '1/2', '--json', at('xb.json')));
  assertRefused(
    await run('merge', at('xa.json'), at('xb.json')),
    /^mmulab: .*xb\.json: the scenario's content \(scenarioDigest\) differs from .*xa\.json's: sha256:/,
  );
  // The same for check parts: the same file edited between the parts, --max-steps.
  const c = join(at('c'), 'x.yaml');
  mkdirSync(at('c'));
  const check = (...args: string[]) => run('check', c, '--strategy', 'random', '--max-executions', '20', '--out', at('x-cex.json'), ...args);
  writeFileSync(c, readFileSync(join(at('a'), 'x.yaml')));
  ok(await check('--shard', '0/2', '--json', at('ca.json')));
  writeFileSync(c, readFileSync(join(at('b'), 'x.yaml')));
  ok(await check('--shard', '1/2', '--json', at('cb.json')));
  assertRefused(await run('merge', at('ca.json'), at('cb.json')), /^mmulab: .*cb\.json: the scenario's content \(scenarioDigest\) differs from .*ca\.json's: /);
  writeFileSync(c, readFileSync(join(at('a'), 'x.yaml')));
  ok(await check('--shard', '1/2', '--max-steps', '500', '--json', at('ca-steps.json')));
  assertRefused(
    await run('merge', at('ca.json'), at('ca-steps.json')),
    /^mmulab: .*ca-steps\.json: --max-steps differs from .*ca\.json's: 500 against \(none\)$/,
  );
  ok(await check('--shard', '1/2', '--json', at('ca1.json')));
  ok(await run('merge', at('ca.json'), at('ca1.json')));
  // Parts of one sweep still merge.
  const y = await sweepPart(at('y.json'), '--shard', '1/2');
  const merged = await run('merge', x0, y, '--json', at('xy.json'));
  assert.equal(merged.code, 0, merged.stderr);
  assert.equal(load(at('xy.json')).partial, false);
});

/** A check of 2x1x1 with bound 1, its counterexample to `cex`: add --shard and --json. */
function checkPart(cex: string): string[] {
  return ['check', MINI, '--preemption-bound', '1', '--set', 'vcpus=2', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1', '--out', cex];
}

test('merge (regression): malformed parts are refused in one line naming the file and the field, not an internal error', async () => {
  const p0 = at('p0.json');
  const base = checkPart(at('p-cex.json'));
  assert.equal((await run(...base, '--shard', '0/3', '--json', p0)).code, 0);
  assert.equal((await run(...base, '--shard', '1/3', '--json', at('p1.json'))).code, 0);
  const sweep = await sweepPart(at('s0.json'), '--shard', '0/2');
  writeFileSync(at('null.json'), 'null\n');
  writeFileSync(at('bare.json'), '{"format":"mmulab-sweep/1"}');
  const cases: [string, RegExp][] = [
    [at('null.json'), /null\.json: expected a JSON object \(the --json of mmulab sweep or check\), got null$/],
    [at('bare.json'), /bare\.json: scenario: missing; expected a string$/],
    [
      edited(p0, at('e1.json'), (j) => (j.parts[0].part.entries = [[0, 'x']])),
      /e1\.json: parts\[0\]\.part\.entries\[0\]: expected at least 5 items, got \[0,"x"\]$/,
    ],
    [edited(p0, at('e2.json'), (j) => (j.parts[0].part.shard = { index: 0, count: 0 })), /e2\.json: parts\[0\]\.part\.shard\.count: expected >= 1, got 0$/],
    [
      edited(p0, at('e3.json'), (j) => (j.parts[0].part.shard = { index: 5, count: 3 })),
      /e3\.json: parts\[0\]\.part\.shard\.index: expected 0 <= index < count \(3\)$/,
    ],
    [edited(p0, at('e4.json'), (j) => (j.parts[0].part.entries = null)), /e4\.json: parts\[0\]\.part\.entries: expected an array, got null$/],
    [edited(p0, at('e5.json'), (j) => (j.parts[0].summary = null)), /e5\.json: parts\[0\]\.summary: expected an object, got null$/],
    [
      edited(p0, at('e6.json'), (j) => (j.parts[0].part.entries = [[1, 2, 3, 4, 5]])),
      /e6\.json: parts\[0\]\.part\.entries\[0\]\[0\]: expected a unit of shard 0\/3/,
    ],
    [
      edited(p0, at('e7.json'), (j) => (j.parts[0].part.stopUnit = 3)),
      /e7\.json: parts\[0\]\.part\.stopUnit: expected null \(summary\.stoppedBy is exhausted\), got 3$/,
    ],
    [
      edited(p0, at('e8.json'), (j) => delete j.scenarioDigest),
      /e8\.json: scenarioDigest: missing; expected a string \(a part written by an older mmulab: run it again\)$/,
    ],
    [edited(p0, at('e9.json'), (j) => (j.shard = { index: 1, count: 3 })), /e9\.json: parts\[0\]\.part\.shard: expected a share of the file's shard 1\/3/],
  ];
  for (const [file, pattern] of cases) assertRefused(await run('merge', file, at('p1.json')), new RegExp(`^mmulab: .*${pattern.source}`));
  // Formats mixed: the file that does not match is named, either way round.
  assertRefused(await run('merge', p0, sweep), /^mmulab: .*s0\.json: format: expected "mmulab-check\/1" \(as .*p0\.json has\), got "mmulab-sweep\/1"$/);
  assertRefused(await run('merge', sweep, p0), /^mmulab: .*p0\.json: format: expected "mmulab-sweep\/1" \(as .*s0\.json has\), got "mmulab-check\/1"$/);
  // The same part twice: the file named once, as sweep merge says it.
  assertRefused(await run('merge', p0, p0), /^mmulab: .*p0\.json: given twice \(each part once\)$/);
});

test("merge: a part's refusals are worded as a scenario's (missing; expected a string / an integer / one of ...), never 'expected string, got nothing'", async () => {
  const w0 = at('w0.json');
  assert.equal((await run(...checkPart(at('w-cex.json')), '--shard', '0/3', '--json', w0)).code, 0);
  const cases: [string, RegExp][] = [
    [
      edited(w0, at('w1.json'), (j) => delete j.format),
      /w1\.json: format: missing; expected "mmulab-sweep\/1" or "mmulab-check\/1" \(the --json of mmulab sweep or check\)$/,
    ],
    [edited(w0, at('w2.json'), (j) => (j.seed = 1.5)), /w2\.json: seed: expected an integer, got 1\.5$/],
    [
      edited(w0, at('w3.json'), (j) => delete j.exploration.strategy.kind),
      /w3\.json: exploration\.strategy\.kind: missing; expected one of "dfs", "pct", "random", "auto"$/,
    ],
    [edited(w0, at('w4.json'), (j) => (j.violation = { kind: 'x' })), /w4\.json: violation\.thread: missing; expected a string$/],
    [edited(w0, at('w5.json'), (j) => (j.summary.executions = 'many')), /w5\.json: summary\.executions: expected a number, got "many"$/],
  ];
  for (const [file, pattern] of cases) {
    const r = await run('merge', file, at('w0.json'));
    assertRefused(r, new RegExp(`^mmulab: .*${pattern.source}`));
    assert.doesNotMatch(r.stderr, /got nothing|expected (string|number|object|array|int)\b/);
  }
});

test('merge (regression): with a part missing, neither the header nor stoppedBy says exhausted', async () => {
  const base = checkPart(at('q-cex.json'));
  for (let i = 0; i < 3; i++) assert.equal((await run(...base, '--shard', `${i}/3`, '--json', at(`q${i}.json`))).code, 0);
  const r = await captured(['merge', at('q0.json'), at('q1.json'), '--json', at('q01.json')]);
  // A part not given is input missing: the partial result is written and shown, then exit 2, said on one line.
  assert.equal(r.code, 2, r.stderr);
  // The part missing is named (a probe: only 'a part was not given').
  assert.match(
    r.stderr,
    /^mmulab: merge: --shard 2\/3 not given: a part was not given \(or its run did not finish\); the merged result, written and shown, is partial\n$/,
  );
  // Merged, the wall is the slowest part's, and no rate of every part's executions over it is printed (a probe: exec/s over the slowest part's wall).
  assert.match(r.stdout.split('\n')[0]!, /, \d+\.\d\d s \(the slowest part's\)/);
  assert.doesNotMatch(r.stdout, /exec\/s/);
  const header = r.stdout.split('\n')[0]!;
  assert.doesNotMatch(header, /exhausted/);
  assert.match(header, /^dfs: [\d,]+ executions \(parts-missing\), .*\(partial: parts missing: no part holds subtrees 2, 5, 8, 11, …\)$/);
  assert.doesNotMatch(r.stdout, /exhausted/);
  const j = load(at('q01.json')) as { summary: Record<string, unknown>; partial: boolean };
  assert.equal(j.summary.exhausted, false);
  assert.equal(j.summary.stoppedBy, 'parts-missing');
  assert.equal(j.partial, true);
  // All three: exhausted, not partial.
  const all = await captured(['merge', at('q2.json'), at('q0.json'), at('q1.json'), '--json', at('q012.json')]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^dfs: [\d,]+ executions \(exhausted\)/);
  assert.equal(load(at('q012.json')).partial, false);
});

test('merge (regression): a part cut by its time limit before the violation leaves the merge partial, the violation not claimed first (pct, seed 7)', async () => {
  const base = ['check', MINI, '--mutate', 'fault-skip-range-check', '--strategy', 'pct', '--no-minimise', '--seed', '7'];
  assert.equal((await run(...base, '--shard', '0/2', '--json', at('v0.json'), '--out', at('vc0.json'))).code, 1);
  // Part 1's own first violation is execution 667, past part 0's (418).
  assert.equal((await run(...base, '--shard', '1/2', '--json', at('v1.json'), '--out', at('vc1.json'))).code, 1);
  const whole = await run('merge', at('v0.json'), at('v1.json'), '--json', at('v01.json'));
  assert.equal(whole.code, 1, whole.stderr);
  const full = load(at('v01.json')) as { summary: Record<string, unknown>; partial: boolean };
  assert.equal(full.partial, false);
  assert.equal(full.summary.violationExecution, 418);
  assert.equal(full.summary.executions, 419);
  // Part 1 as a time limit leaves it: stopped after its execution 33, long before 418.
  assert.equal((await run(...base, '--shard', '1/2', '--max-executions', '34', '--json', at('v1-34.json'), '--out', at('vc1.json'))).code, 0);
  const cut = edited(at('v1-34.json'), at('v1-cut.json'), (j) => {
    j.summary.stoppedBy = 'time-limit';
    j.parts[0].summary.stoppedBy = 'time-limit';
    j.partial = true;
    j.exploration.maxExecutions = null;
  });
  assert.equal((load(cut) as Json).parts[0].part.lastUnit, 33);
  const r = await captured(['merge', at('v0.json'), cut, '--json', at('v0cut.json')]);
  assert.equal(r.code, 1, r.stderr);
  const m = load(at('v0cut.json')) as { summary: Record<string, unknown>; partial: boolean; violation: { kind: string } };
  assert.equal(m.partial, true);
  assert.equal(m.summary.violationExecution, null);
  assert.equal(m.summary.stoppedBy, 'violation');
  assert.equal(m.violation.kind, 'stale-translation');
  assert.match(
    r.stdout.split('\n')[0]!,
    /\(partial: .*v1-cut\.json \(executions ≡ 1 mod 2\) was cut short \(time-limit\): its executions from number 35 on did not run\)$/,
  );
  assert.match(r.stdout, /maybe not the first violation of the unsharded check/);
  // Cut after the violation's execution (at 499): nothing before it is missing, the merge is the unsharded result.
  assert.equal((await run(...base, '--shard', '1/2', '--max-executions', '500', '--json', at('v1-500.json'), '--out', at('vc1.json'))).code, 0);
  const late = edited(at('v1-500.json'), at('v1-late.json'), (j) => {
    j.summary.stoppedBy = 'time-limit';
    j.parts[0].summary.stoppedBy = 'time-limit';
    j.partial = true;
    j.exploration.maxExecutions = null;
  });
  assert.equal((await run('merge', at('v0.json'), late, '--json', at('v0late.json'))).code, 1);
  const l = load(at('v0late.json')) as { summary: Record<string, unknown>; partial: boolean };
  assert.deepEqual({ ...l, parts: null }, { ...full, parts: null });
  // Its parts too: part 1, whether it ran to its own violation at 667 or was cut at 499, is cut at 418, and the two are the one part of the unsharded check.
  assert.deepEqual((l as Json).parts, (full as Json).parts);
  assert.deepEqual(
    ((full as Json).parts as Json[]).map((p) => [p.part.shard, p.summary.stoppedBy, p.part.lastUnit, p.part.stopUnit]),
    [[{ index: 0, count: 1 }, 'violation', 418, 418]],
  );
  assert.equal((await run(...base, '--json', at('vwhole.json'), '--out', at('vcwhole.json'))).code, 1);
  const unsharded = load(at('vwhole.json')) as Json;
  assert.deepEqual({ ...full, counterexample: null }, { ...unsharded, counterexample: null });
});

test('check --time-limit: the JSON says partial (stoppedBy time-limit), so a time-limited part is known as one', async () => {
  const json = at('tl.json');
  const r = await run('check', MINI, '--strategy', 'pct', '--time-limit', '0.001', '--shard', '1/2', '--json', json, '--out', at('tl-cex.json'));
  assert.equal(r.code, 0, r.stderr);
  const j = load(json) as { summary: Record<string, unknown>; partial: boolean };
  assert.equal(j.summary.stoppedBy, 'time-limit');
  assert.equal(j.partial, true);
});

test('merge (regression): a dfs part cut short leaves every subtree it owns before the violation unknown; counts past 2^20 are checked too', () => {
  const summary = (stoppedBy: ExplorePart['summary']['stoppedBy']): ExplorePart['summary'] => ({
    strategy: 'dfs',
    executions: 10,
    exhausted: stoppedBy === 'exhausted',
    stoppedBy,
    maxDepth: 5,
    truncated: 0,
    redundant: 0,
    wallMs: 1,
    executionsPerSec: 1,
    firstCounterexampleMs: null,
    violationExecution: null,
  });
  const part = (index: number, count: number, lastUnit: number, stopUnit: number | null, stoppedBy: ExplorePart['summary']['stoppedBy']): ExplorePart => ({
    summary: summary(stoppedBy),
    part: { shard: { index, count }, lastUnit, stopUnit, entries: [] },
  });
  // Part 0 found a violation in subtree 6; part 1 stopped at its time limit in subtree 9 (subtrees 1..7 of it may be unfinished).
  const m = mergeParts([part(0, 2, 6, 6, 'violation'), part(1, 2, 9, null, 'time-limit')]);
  assert.equal(m.partial, true);
  assert.equal(m.summary.violationExecution, null);
  assert.deepEqual(m.gaps, [{ kind: 'cut', part: 1, stoppedBy: 'time-limit', from: 1 }]);
  // Exhausted instead: the merge knows every subtree before 6.
  const done = mergeParts([part(0, 2, 6, 6, 'violation'), part(1, 2, 9, null, 'exhausted')]);
  assert.equal(done.partial, false);
  assert.equal(done.summary.violationExecution, done.summary.executions - 1);
  // A violation in unit 0 is the first whatever is missing after it.
  const early = mergeParts([part(0, 3, 0, 0, 'violation')]);
  assert.equal(early.incomplete, true);
  assert.equal(early.partial, false);
  // Counts whose lcm (6,000,000) is past 2^20, which were not checked at all: missing units and overlaps are found.
  const big = mergeParts([part(0, 2_000_000, 0, null, 'exhausted'), part(1, 3_000_000, 1, null, 'exhausted')]);
  assert.equal(big.incomplete, true);
  assert.deepEqual(big.gaps, [{ kind: 'missing', units: [2, 3, 4, 5] }]);
  // 0 (mod 2,000,000) and 1,000,000 (mod 3,000,000) share unit 4,000,000.
  assert.throws(() => mergeParts([part(0, 2_000_000, 0, null, 'exhausted'), part(1_000_000, 3_000_000, 1_000_000, null, 'exhausted')]), /more than one part/);
  // Parts of different splits that add up to the whole: 0/2, 1/4, 3/4.
  assert.equal(mergeParts([part(0, 2, 0, null, 'exhausted'), part(1, 4, 1, null, 'exhausted'), part(3, 4, 3, null, 'exhausted')]).incomplete, false);
});

test('merge (regression): the replay command it prints works from the current folder (parts run in another)', async () => {
  // Parts run in folder `elsewhere` with --out cex<i>.json record that path as given, relative to it.
  const sub = at('elsewhere');
  mkdirSync(sub);
  for (let i = 0; i < 2; i++) {
    const json = join(sub, `part${i}.json`);
    const r = await rangeCheckRandom('--shard', `${i}/2`, '--json', json, '--out', join(sub, `cex${i}.json`));
    assert.equal(r.code, 1, r.stderr);
    edited(json, json, (j) => (j.counterexample = `cex${i}.json`));
  }
  const r = await captured(['merge', join(sub, 'part0.json'), join(sub, 'part1.json'), '--json', at('elsewhere.json')]);
  assert.equal(r.code, 1, r.stderr);
  const cex = load(at('elsewhere.json')).counterexample as string;
  // The temporary folder lies outside this one: the path is absolute.
  assert.ok([join(sub, 'cex0.json'), join(sub, 'cex1.json')].includes(cex), cex);
  assert.ok(r.stdout.includes(`replay it with:\n  mmulab replay ${cex}\n`), r.stdout);
  assert.equal((await run('replay', cex)).code, 1);
  // Beside this folder, a relative path from here.
  const near = join('test-output', 'merge-cex-here');
  mkdirSync(near, { recursive: true });
  try {
    for (let i = 0; i < 2; i++) writeFileSync(join(near, `part${i}.json`), readFileSync(join(sub, `part${i}.json`)));
    for (let i = 0; i < 2; i++) writeFileSync(join(near, `cex${i}.json`), readFileSync(join(sub, `cex${i}.json`)));
    const h = await captured(['merge', join(near, 'part0.json'), join(near, 'part1.json')]);
    assert.match(h.stdout, new RegExp(`replay it with:\\n {2}mmulab replay ${near}/cex[01]\\.json\\n`));
  } finally {
    rmSync(near, { recursive: true, force: true });
  }
});

test('merge (regression): unbounded dfs parts exhausted say the space was exhausted, not a bounded one', async () => {
  const size = ['--set', 'vcpus=1', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1'];
  for (let i = 0; i < 2; i++) assert.equal((await run('check', MINI, '--strategy', 'dfs', ...size, '--shard', `${i}/2`, '--json', at(`u${i}.json`))).code, 0);
  const r = await captured(['merge', at('u0.json'), at('u1.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^no violation: the space was exhausted$/m);
  assert.doesNotMatch(r.stdout, /bounded/);
  // With a bound, the bound is named, as check names it.
  const bounded = ['check', MINI, '--preemption-bound', '1', ...size];
  for (let i = 0; i < 2; i++) assert.equal((await run(...bounded, '--shard', `${i}/2`, '--json', at(`b${i}.json`))).code, 0);
  const b = await captured(['merge', at('b0.json'), at('b1.json')]);
  assert.match(b.stdout, /^no violation: every interleaving with at most 1 preemption was run$/m);
});

test('merge (regression): a part that is not JSON is refused at its line and column, quoting none of it; a byte order mark is skipped', async () => {
  const base = ['check', MINI, '--strategy', 'random', '--max-executions', '20', '--out', at('j-cex.json')];
  assert.equal((await run(...base, '--shard', '0/2', '--json', at('j0.json'))).code, 0);
  assert.equal((await run(...base, '--shard', '1/2', '--json', at('j1.json'))).code, 0);
  const text = readFileSync(at('j0.json'), 'utf8');
  writeFileSync(at('j0-x.json'), `x\n${text}`);
  assertRefused(
    await run('merge', at('j0-x.json'), at('j1.json')),
    /^mmulab: .*j0-x\.json: not JSON \(line 1, column 1: expected a value \(an object, array, string, number, true, false or null\), got 'x'\)$/,
  );
  writeFileSync(at('j0-bom.json'), `\uFEFF${text}`);
  assert.equal((await run('merge', at('j0-bom.json'), at('j1.json'), '--json', at('j-bom.json'))).code, 0);
  assert.equal((await run('merge', at('j0.json'), at('j1.json'), '--json', at('j-plain.json'))).code, 0);
  assert.deepEqual(load(at('j-bom.json')), load(at('j-plain.json')));
});

test('merge (regression): a counterexample not found from here is recorded as not found, with the path its part recorded, not resolved from here', async () => {
  // A check run in folder `ran` with --out cexA.json --json sub/partA.json: the part records cexA.json, relative to `ran`, not to sub/.
  const ran = at('ran');
  mkdirSync(join(ran, 'sub'), { recursive: true });
  const part = join(ran, 'sub', 'partA.json');
  // Run here with absolute paths (the CLI's workers load from this folder), then recorded as the check in `ran` records its --out.
  const c = await rangeCheckRandom('--out', join(ran, 'cexA.json'), '--json', part);
  assert.equal(c.code, 1, c.stderr);
  edited(part, part, (x) => (x.counterexample = 'cexA.json'));
  const cwd = process.cwd();
  assert.equal(load(part).counterexample, 'cexA.json');
  // From here (another folder): said not found, and the merged file claims no file here, naming the part and the path it recorded.
  const r = await captured(['merge', part, '--json', at('unfound.json')]);
  assert.equal(r.code, 1, r.stderr);
  // Where to replay it: from the folder the part ran in (a probe: 'replay it with: mmulab replay cexA.json', which fails from here).
  assert.match(
    r.stdout,
    /^counterexample: cexA\.json \(not found from here nor beside .*partA\.json: it was written where its part ran\); replay it from the folder its part ran in, with:\n {2}mmulab replay cexA\.json$/m,
  );
  const j = load(at('unfound.json'));
  assert.equal(j.counterexample, null);
  assert.deepEqual(j.counterexampleNotFound, { part, path: 'cexA.json' });
  assert.deepEqual(Object.keys(j).slice(Object.keys(j).indexOf('counterexample'), Object.keys(j).indexOf('counterexample') + 2), [
    'counterexample',
    'counterexampleNotFound',
  ]);
  // From the folder the check ran in, the file is there: recorded by its absolute path, which works from anywhere.
  process.chdir(ran);
  try {
    assert.equal((await run('merge', part, '--json', at('found.json'))).code, 1);
  } finally {
    process.chdir(cwd);
  }
  const f = load(at('found.json'));
  assert.equal(f.counterexample, join(ran, 'cexA.json'));
  assert.equal('counterexampleNotFound' in f, false);
  assert.equal((await run('replay', f.counterexample as string)).code, 1);
});

test("merge refuses parts written by two builds of mmulab, and a check of auto or --iterative-bound, which runs phases and is never a part (a probe: both merged, the first to figures of neither build, the second to 'the space was exhausted')", async () => {
  const s0 = await sweepPart(at('b0.json'), '--set', 'vcpus=1', '--shard', '0/2');
  const s1 = await sweepPart(at('b1.json'), '--set', 'vcpus=1', '--shard', '1/2');
  assert.match(load(s0).build as string, /^sha256:[0-9a-f]{64}$/);
  assert.equal(load(s0).build, load(s1).build);
  const older = edited(s1, at('b1-older.json'), (j) => {
    j.build = 'sha256:0123456789abcdef';
  });
  assertRefused(
    await run('merge', s0, older),
    /^mmulab: .*b1-older\.json: the mmulab that wrote it \(build; run every part with one\) differs from .*b0\.json's: sha256:0123456789ab… against sha256:/,
  );
  const c0 = at('bc0.json');
  const c1 = at('bc1.json');
  for (const [i, f] of [c0, c1].entries())
    assert.equal((await run('check', MINI, '--preemption-bound', '1', '--shard', `${i}/2`, '--json', f, '--out', at('bc-cex.json'))).code, 0);
  const unbuilt = edited(c1, at('bc1-unbuilt.json'), (j) => {
    delete j.build;
  });
  assertRefused(
    await run('merge', c0, unbuilt),
    /^mmulab: .*bc1-unbuilt\.json: the mmulab that wrote it \(build; run every part with one\) differs from .*bc0\.json's: \(none\) against sha256:/,
  );
  assert.equal((await run('merge', c0, c1)).code, 0);
  for (const [name, args] of [
    ['bare', []],
    ['iterative', ['--iterative-bound', '--preemption-bound', '1']],
  ] as const) {
    const f = at(`phased-${name}.json`);
    assert.equal((await run('check', MINI, '--set', 'vcpus=1', ...args, '--json', f, '--out', at('phased-cex.json'))).code, 0);
    const what = name === 'bare' ? '--strategy auto' : '--iterative-bound';
    assertRefused(
      await run('merge', f),
      new RegExp(
        `^mmulab: .*phased-${name}\\.json: exploration\\.strategy: a check of ${what} is not split into parts; expected check --shard i/n parts \\(dfs, pct or random\\)$`,
      ),
    );
  }
});

test('check --iterative-bound with no bound (a probe: it printed the default-bound note, of a bound it did not apply)', async () => {
  const r = await captured(['check', MINI, '--set', 'vcpus=1', '--iterative-bound', '--max-executions', '2000', '--out', at('it-cex.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /every interleaving with at most \d+ preemptions? was run/);
  assert.doesNotMatch(r.stdout, /the default bound/);
});

test("merge warns when the counterexample file a part names holds another violation (a probe: a stale --out was reported as the part's)", async () => {
  const parts = [at('fc0.json'), at('fc1.json')];
  const cexes = [at('fc0-cex.json'), at('fc1-cex.json')];
  for (const i of [0, 1]) await rangeCheckRandom('--shard', `${i}/2`, '--json', parts[i]!, '--out', cexes[i]!);
  const clean = await captured(['merge', ...parts]);
  assert.equal(clean.code, 1, clean.stderr);
  assert.doesNotMatch(clean.stderr, /holds another violation/);
  // Both files written over by a livelock of another mutant.
  assert.equal((await run('check', MINI, '--mutate', 'precheck-plain-read', '--out', at('fc-other.json'))).code, 1);
  for (const f of cexes) writeFileSync(f, readFileSync(at('fc-other.json')));
  const r = await captured(['merge', ...parts, '--json', at('fc-merged.json')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^mmulab: warning: .*fc[01]-cex\.json holds another violation \(livelock\) than its part recorded \(stale-translation\): a file of another run, or written over since; the merge records no counterexample file$/m,
  );
  // Not recorded as the part's (a probe: it was, and the replay line printed named it): none, and which part named which file.
  assert.doesNotMatch(r.stdout, /replay it with/);
  const merged = load(at('fc-merged.json')) as { counterexample: string | null; counterexampleNotFound?: { part: string; path: string } };
  assert.equal(merged.counterexample, null);
  assert.match(merged.counterexampleNotFound?.path ?? '', /fc[01]-cex\.json$/);
  // Of one kind, two violations differ in their messages, which are then said.
  const same = JSON.parse(readFileSync(at('fc0-cex.json'), 'utf8'));
  for (const f of cexes) writeFileSync(f, JSON.stringify({ ...same, violation: { ...same.violation, kind: 'stale-translation', message: 'another' } }));
  const s = await captured(['merge', ...parts]);
  assert.match(
    s.stderr,
    // The recorded message may say in parentheses who still held the page's reference.
    /holds another violation \(stale-translation: another\) than its part recorded \(stale-translation: migrate .+ gfn 0x0.*\): a file of another run/,
  );
});

test('merge (regression): a part cut short with no violation found does not say "no violation found" alone; an interrupted part exits 2 as a missing one, a time-limited part 0 as check --time-limit (a probe: both exited 0, "no violation found")', async () => {
  const base = checkPart(at('c-cex.json'));
  for (let i = 0; i < 3; i++) assert.equal((await run(...base, '--shard', `${i}/3`, '--json', at(`c${i}.json`))).code, 0);
  // Part 0 as a time limit or SIGINT leaves it: stopped after its first few executions.
  assert.equal((await run(...base, '--shard', '0/3', '--max-executions', '5', '--json', at('c0-5.json'))).code, 0);
  const stopped = (why: string) =>
    edited(at('c0-5.json'), at(`c0-${why}.json`), (j) => {
      j.summary.stoppedBy = why;
      j.parts[0].summary.stoppedBy = why;
      j.partial = true;
      j.exploration.maxExecutions = null;
    });
  const last = (out: string) => out.trimEnd().split('\n').at(-1)!;
  const timed = await captured(['merge', stopped('time-limit'), at('c1.json'), at('c2.json')]);
  assert.equal(timed.code, 0, timed.stderr);
  assert.equal(timed.stderr, '');
  assert.match(
    last(timed.stdout),
    /^no violation found in what the parts ran; the verification is incomplete: .*c0-time-limit\.json \(shard 0\/3\) stopped at --time-limit$/,
  );
  const stop = await captured(['merge', stopped('interrupted'), at('c1.json'), at('c2.json')]);
  assert.equal(stop.code, 2, stop.stderr);
  assert.match(
    last(stop.stdout),
    /^no violation found in what the parts ran; the verification is incomplete: .*c0-interrupted\.json \(shard 0\/3\) interrupted \(SIGINT\)$/,
  );
  assert.match(
    stop.stderr,
    /^mmulab: merge: --shard 0\/3 \(.*c0-interrupted\.json\) was interrupted: its run did not finish \(re-run it\); the merged result, written and shown, is partial\n$/,
  );
  // A part not given is named on the line too; whole, the verdict is as before.
  const missing = await captured(['merge', at('c0.json'), at('c1.json')]);
  assert.equal(missing.code, 2);
  assert.match(last(missing.stdout), /^no violation found in what the parts ran; the verification is incomplete: --shard 2\/3 not given$/);
  const whole = await captured(['merge', at('c0.json'), at('c1.json'), at('c2.json')]);
  assert.equal(whole.code, 0, whole.stderr);
  assert.doesNotMatch(whole.stdout, /incomplete/);
});

test('merge (regression): with parts missing and a violation, the shards not given are named on stderr too (a probe: only without a violation)', async () => {
  const base = ['check', MINI, '--mutate', 'fault-skip-range-check', '--strategy', 'pct', '--no-minimise', '--seed', '7'];
  assert.equal((await run(...base, '--shard', '0/3', '--json', at('m0.json'), '--out', at('mc0.json'))).code, 1);
  const r = await captured(['merge', at('m0.json')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^stale-translation: /m);
  assert.match(r.stderr, /^mmulab: merge: --shard 1\/3, 2\/3 not given: /m);
});

test('merge of a part that found a violation prints what check prints after it: the minimised line and the replay without the file, from the part JSON (a probe: neither, and no replay at all once the file was on another machine)', async () => {
  const cex = at('far-cex.json');
  const part = at('far0.json');
  const c = await captured(['check', MINI, '--mutate', 'fault-skip-range-check', '--strategy', 'random', '--shard', '0/2', '--json', part, '--out', cex]);
  assert.equal(c.code, 1, c.stderr);
  const printed = /^minimised: .*$/m.exec(c.stdout)![0];
  const line = /^or, without the file \(for a commit message or a mail\):\n {2}(mmulab replay .* --schedule \S+)$/m.exec(c.stdout)![1]!;
  assert.equal((load(part) as Json).replay, line);
  // The file left on the machine the part ran on.
  rmSync(cex);
  const m = await captured(['merge', part]);
  assert.equal(m.code, 1, m.stderr);
  // check's line less the count of events its interleaving printed, which merge does not print.
  assert.match(m.stdout, new RegExp(`^${printed.replace(/ \(\d+ events printed\)/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.ok(m.stdout.includes(`replay it from here, without the file, with:\n  ${line}\n`), m.stdout);
  // The line replays it.
  const args = line.split(' ').slice(1);
  assert.equal((await run(...args)).code, 1);
  // No counterexample, no field: the JSON of a check without one is as before.
  assert.equal((await run('check', MINI, '--strategy', 'random', '--max-executions', '5', '--json', at('none.json'))).code, 0);
  assert.equal('replay' in load(at('none.json')), false);
});
