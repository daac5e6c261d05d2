import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILTIN_DIR } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-replay-input-');

// biome-ignore lint/suspicious/noExplicitAny: the edits reach into any field of a counterexample, as a person editing it would
type Json = any;

test('replay: a counterexample whose world or schedule this mmulab cannot build is refused on one line naming the file and field, exit 2', async () => {
  const cexFile = join(dir, 'cex.json');
  const found = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', cexFile);
  assert.equal(found.code, 1, found.stderr);
  const cex = JSON.parse(readFileSync(cexFile, 'utf8'));
  assert.equal((await cli('replay', cexFile)).code, 1);
  const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    ['mutant', (c) => (c.mutant = 'nope'), /: mutant: unknown mutant 'nope'; expected null or one of fault-skip-seq-check, /],
    ['settings', (c) => (c.settings = { mmu: 'weird' }), /: settings mmu=weird: mmu expects one of tdp, shadow$/],
    ['scenario', (c) => (c.scenario = 'nosuch'), /: scenario: nosuch: unknown built-in scenario; expected one of /],
    [
      'schedule',
      (c) => ((c.schedule as { choices: number[] }).choices = [9, 9, 9]),
      /: schedule: replay: step 0 .* \(written by another version of the model, or edited: its schedule, or the limits, settings or mutant it runs under\)$/,
    ],
    // An unknown property was taken as it was.
    ['property', (c) => (c.property = 'foo'), /: property: "foo", expected the violation's kind \("stale-translation", violation\.kind\)$/],
    // Before: blamed on the schedule ("the execution ended (truncated) after 0 steps").
    ['limits', (c) => ((c.limits as { maxSteps: number }).maxSteps = -5), /limits\.maxSteps/],
    // check's --json summary given instead: said so (it read "written by another version of mmulab").
    [
      'summary',
      (c) => {
        for (const k of Object.keys(c)) delete c[k];
        Object.assign(c, { format: 'mmulab-check/1', counterexample: 'cex.json' });
      },
      /: counterexample: this is the summary mmulab check writes with --json \(format "mmulab-check\/1"\), not a counterexample; its counterexample is cex\.json$/,
    ],
  ];
  for (const [name, alter, pattern] of cases) {
    const c = structuredClone(cex);
    alter(c);
    const f = join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(c));
    const r = await cli('replay', f);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line, got: ${r.stderr}`);
    assert.ok(lines[0]!.startsWith(`mmulab: ${f}: `), lines[0]);
    assert.match(lines[0]!, pattern);
  }
});

test('replay: a counterexample edited to the fixed model (no mutant) runs to its end: "no violation", exit 0, outputs not written (it was "internal error", exit 3); another property than recorded is named at the field', async () => {
  const cexFile = join(dir, 'pp.json');
  assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'precheck-plain-read', '--out', cexFile)).code, 1);
  const cex = JSON.parse(readFileSync(cexFile, 'utf8'));
  const fixed = join(dir, 'pp-fixed.json');
  // The fixed vCPU goes on where the mutant's spun: one step more than the livelock's schedule (its check after get_user_pages).
  const schedule = { ...cex.schedule, choices: [...cex.schedule.choices, 1] };
  writeFileSync(fixed, JSON.stringify({ ...cex, mutant: null, schedule }));
  const out = join(dir, 'pp-fixed-replayed.json');
  const r = await captured(['replay', fixed, '--json', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^no violation: the schedule runs to its end \(complete, \d+ steps\) \(.*pp-fixed\.json recorded livelock, which this replay no longer violates\)$/m,
  );
  assert.match(r.stderr, /^mmulab: no violation, so --json .*pp-fixed-replayed\.json not written$/m);
  const other = join(dir, 'pp-other.json');
  writeFileSync(other, JSON.stringify({ ...cex, property: 'stale-translation', violation: { ...cex.violation, kind: 'stale-translation' } }));
  const o = await cli('replay', other);
  assert.equal(o.code, 1);
  assert.match(o.stderr, /^mmulab: .*pp-other\.json: property: the replay violated livelock, not stale-translation as recorded$/m);
});

test('replay: the counterexample of a scenario file carries the file, and replays once the file is gone', async () => {
  const yaml = join(dir, 'my-mini.yaml');
  writeFileSync(yaml, readFileSync(join(BUILTIN_DIR, 'fault-vs-invalidation-mini.yaml'), 'utf8'));
  const cexFile = join(dir, 'file-cex.json');
  const found = await cli('check', yaml, '--mutate', 'fault-skip-range-check', '--out', cexFile);
  assert.equal(found.code, 1, found.stderr);
  const cex = JSON.parse(readFileSync(cexFile, 'utf8'));
  assert.equal(cex.scenario, yaml);
  assert.equal(cex.scenarioText, readFileSync(yaml, 'utf8'));
  rmSync(yaml);
  const replayedFile = join(dir, 'file-replayed.json');
  const r = await cli('replay', cexFile, '--json', replayedFile);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(readFileSync(replayedFile, 'utf8')).steps, cex.steps);
  // A copy that does not parse is located in the counterexample file.
  const broken = join(dir, 'broken-text.json');
  writeFileSync(broken, JSON.stringify({ ...cex, scenarioText: 'vm: [' }));
  const bad = await cli('replay', broken);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), new RegExp(`^mmulab: ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: scenarioText:\\d+:\\d+`));
});

test('check prints the replay as one line without the file; pasted, it replays the same steps; the file form takes none of its options', async () => {
  const cexFile = join(dir, 'line-cex.json');
  const page = join(dir, 'line.html');
  const found = await captured(['check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', cexFile, '--report', page]);
  assert.equal(found.code, 1, found.stderr);
  const m =
    /^or, without the file \(for a commit message or a mail\):\n {2}mmulab (replay fault-vs-invalidation-mini --mutate fault-skip-range-check --schedule [A-Za-z0-9_-]+)$/m.exec(
      found.stdout,
    );
  assert.ok(m, found.stdout);
  // The HTML page shows the same line (it used to show 'mmulab replay cex.json' whatever --out was).
  assert.ok(readFileSync(page, 'utf8').includes(`<code>mmulab ${m[1]!}</code>`));
  const pasted = join(dir, 'line-replayed.json');
  const r = await cli(...m[1]!.split(' '), '--json', pasted);
  assert.equal(r.code, 1, r.stderr);
  const cex = JSON.parse(readFileSync(cexFile, 'utf8'));
  const replayed = JSON.parse(readFileSync(pasted, 'utf8'));
  assert.deepEqual(replayed.steps, cex.steps);
  assert.deepEqual(replayed.schedule, cex.schedule);
  assert.equal(replayed.property, cex.property);
  // Without the mutant it was found with, the schedule does not fit: refused on one line.
  const bare = await cli(...m[1]!.replace(' --mutate fault-skip-range-check', '').split(' '));
  assert.equal(bare.code, 2);
  assert.match(bare.stderr.trim(), /^mmulab: --schedule: schedule: replay: step \d+ .*\(found with other settings or another mutant, /);
  const garbled = await cli('replay', 'fault-vs-invalidation-mini', '--schedule', 'not!base64');
  assert.equal(garbled.code, 2);
  assert.match(garbled.stderr.trim(), /^mmulab: --schedule: schedule string: only base64url characters/);
  const mixed = await cli('replay', cexFile, '--mutate', 'fault-skip-range-check');
  assert.equal(mixed.code, 2);
  assert.equal(mixed.stderr.trim(), 'mmulab: --mutate: only with --schedule (a counterexample file records it)');
});

/** A refusal: exit 2, one line starting with `mmulab: ` and the file, matching `pattern`, no stack. */
function refused(r: { code: number; stderr: string }, file: string, pattern: RegExp): string {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.ok(lines[0]!.startsWith(`mmulab: ${file}`), lines[0]);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  return lines[0]!;
}

/** A counterexample of fault-skip-range-check (random, unminimised: quick), as written and parsed. */
async function cexOf(name: string): Promise<{ file: string; text: string; cex: Record<string, unknown> }> {
  const file = join(dir, `${name}.json`);
  const found = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--strategy', 'random', '--no-minimise', '--out', file);
  assert.equal(found.code, 1, found.stderr);
  const text = readFileSync(file, 'utf8');
  return { file, text, cex: JSON.parse(text) };
}

test('replay (regression): a file that is not JSON is refused at its line and column, quoting none of it (it printed the file over three lines); a byte order mark is skipped', async () => {
  const { text } = await cexOf('json-cex');
  const garbage = join(dir, 'nl.json');
  writeFileSync(garbage, `x\n${text}`);
  const line = refused(
    await cli('replay', garbage),
    garbage,
    /\/nl\.json: not JSON \(line 1, column 1: expected a value \(an object, array, string, number, true, false or null\), got 'x'\)$/,
  );
  assert.doesNotMatch(line, /format|mmulab-cex/);
  // Cut short: where the text ends.
  const cut = join(dir, 'cut.json');
  writeFileSync(cut, text.slice(0, text.indexOf('"violation"') + 12));
  refused(await cli('replay', cut), cut, /\/cut\.json: not JSON \(line \d+, column \d+: expected a value \(.*\), got the end of the file\)$/);
  const comma = join(dir, 'comma.json');
  writeFileSync(comma, text.replace('"scenario"', '"scenario" "x",'));
  refused(await cli('replay', comma), comma, /\/comma\.json: not JSON \(line 3, column 14: expected ':' after the property name, got '"'\)$/);
  // A byte order mark (some editors write one): replayed as without it.
  const bom = join(dir, 'bom.json');
  writeFileSync(bom, `\uFEFF${text}`);
  const r = await cli('replay', bom);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, '');
  // A field given twice (an edit that added rather than changed it): refused, not the last taken.
  const twice = join(dir, 'twice.json');
  writeFileSync(twice, text.replace('"scenario"', '"mutant": null,\n  "scenario"'));
  refused(await cli('replay', twice), twice, /\/twice\.json:\d+:\d+ property "mutant" given twice in one object \(first at \d+:\d+\); expected each once$/);
});

test('replay (regression): a bad schedule or limit says the value and what was expected (it said "bad or missing field \'schedule\'")', async () => {
  const { cex } = await cexOf('field-cex');
  const cases: [string, (c: Json) => void, string][] = [
    ['neg', (c) => (c.schedule.choices[0] = -1), 'schedule.choices[0]: -1, expected a whole number >= 0'],
    ['frac', (c) => (c.schedule.choices[2] = 1.5), 'schedule.choices[2]: 1.5, expected a whole number >= 0'],
    ['str', (c) => (c.schedule.choices[0] = '1'), 'schedule.choices[0]: "1", expected a whole number >= 0'],
    ['draws', (c) => (c.schedule.draws = 'x'), 'schedule.draws: "x", expected an array of whole numbers >= 0'],
    ['nosched', (c) => delete c.schedule, 'schedule: missing, expected an object with choices and draws (arrays of whole numbers >= 0)'],
    ['steps', (c) => (c.limits.maxSteps = -5), 'limits.maxSteps: -5, expected a whole number >= 1'],
    ['fair', (c) => (c.limits.fairSpin = 'yes'), 'limits.fairSpin: "yes", expected true or false'],
    ['mut', (c) => (c.mutant = 3), "mutant: 3, expected null or a mutant's name (a string)"],
    // A probe (2026-12-07): these two fields were read by no one, and an edit of them replayed.
    ['acted', (c) => (c.mutantActed = -2), 'mutantActed: -2, expected a whole number >= 0, or no field'],
    ['strategy', (c) => (c.strategy = 'zzz'), 'strategy: "zzz", expected the strategy that found it: "dfs", "pct", "random", "replay"'],
    ['nostrategy', (c) => delete c.strategy, 'strategy: missing, expected the strategy that found it: "dfs", "pct", "random", "replay"'],
  ];
  for (const [name, alter, message] of cases) {
    const c = structuredClone(cex) as Json;
    alter(c);
    const f = join(dir, `field-${name}.json`);
    writeFileSync(f, JSON.stringify(c));
    const line = refused(await cli('replay', f), f, /./);
    assert.equal(line, `mmulab: ${f}: ${message}`, name);
  }
});

test('replay (regression): a counterexample whose settings or scenario the checker cannot run names the file and the field, and advises no --set (replay takes none for a file)', async () => {
  const { cex } = await cexOf('world-cex');
  const zero = join(dir, 'zero.json');
  writeFileSync(zero, JSON.stringify({ ...cex, settings: { faultsPerVcpu: 0 } }));
  const z = refused(
    await cli('replay', zero),
    zero,
    /\/zero\.json: settings: faultsPerVcpu=0 on fault-vs-invalidation-mini: 2 vCPUs with workload\.accesses 0 \(no limit\): the checker runs every thread to its end .*; expected settings that leave every thread a count \(faultsPerVcpu and invalidations at least 1\)$/,
  );
  assert.doesNotMatch(z, /--set/);
  const endless = join(dir, 'endless.json');
  writeFileSync(endless, JSON.stringify({ ...cex, scenario: 'fault-during-invalidation' }));
  const e = refused(
    await cli('replay', endless),
    endless,
    /\/endless\.json: scenario: fault-during-invalidation: \d+ vCPUs with workload\.accesses 0 \(no limit\).*; expected a scenario whose threads all have counts \(a \*-mini check scenario\), or settings giving them counts \(faultsPerVcpu, invalidations\)$/,
  );
  assert.doesNotMatch(e, /--set/);
  // Too many threads, by the settings.
  const many = join(dir, 'many.json');
  writeFileSync(many, JSON.stringify({ ...cex, settings: { vcpus: 40 } }));
  const m = refused(
    await cli('replay', many),
    many,
    /\/many\.json: settings: vcpus=40 on fault-vs-invalidation-mini: 41 threads .*; expected settings with vcpus=31 or fewer$/,
  );
  assert.doesNotMatch(m, /--set/);
});

test("replay (regression): a counterexample file given with --schedule is said to be one: with --schedule the argument is a scenario (it listed the file's keys as unknown scenario keys)", async () => {
  const { file } = await cexOf('sched-cex');
  const line = refused(await cli('replay', file, '--schedule', 'AQYAAQEBAgEADAIIAAYBAA'), file, /./);
  assert.equal(
    line,
    `mmulab: ${file}: a counterexample (format "mmulab-cex/3"), not a scenario; expected a scenario where one is named (replay --schedule takes one); a counterexample file is replayed without --schedule: mmulab replay ${file}`,
  );
  assert.doesNotMatch(line, /unknown keys/);
});

test('replay (regression): a built-in scenario without --schedule says the schedule is wanted (it said "no such file"); a --schedule of more steps than --max-steps lets run is refused before it is expanded (11 characters took 2 GB)', async () => {
  const r = await cli('replay', 'fault-vs-invalidation-mini');
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr,
    'mmulab: fault-vs-invalidation-mini: a built-in scenario, not a counterexample file: expected --schedule S with it (the replay line check prints), or a file check wrote (--out)\n',
  );
  const big = await cli('replay', 'fault-vs-invalidation-mini', '--schedule', 'AQEA_8HXLwA');
  assert.equal(big.code, 2, big.stderr);
  assert.equal(big.stderr, 'mmulab: --schedule: schedule string: more than 10000 steps, more than can run (--max-steps 10000)\n');
});

test("replay (regression): a counterexample's unknown keys are refused at the field, with the keys expected there (a probe: 'sheduel' and limits.maxStep were ignored and the file replayed as if they were not there)", async () => {
  const { cex } = await cexOf('keys-cex');
  const cases: [string, (c: Json) => void, string][] = [
    [
      'top',
      (c) => (c.sheduel = c.schedule),
      "sheduel: unknown key 'sheduel', expected one of format, scenario, scenarioText, settings, mutant, mutantActed, seed, strategy, found, property, violation, limits, schedule, steps",
    ],
    ['limits', (c) => (c.limits.maxStep = 5), "limits.maxStep: unknown key 'maxStep', expected one of maxSteps, fairSpin, spinProgress, retries"],
    ['schedule', (c) => (c.schedule.drawz = []), "schedule.drawz: unknown key 'drawz', expected one of choices, draws"],
    ['violation', (c) => (c.violation.note = 'x'), "violation.note: unknown key 'note', expected one of kind, thread, timeNs, step, message"],
    // A key no identifier is quoted as a segment, and many are one short line (the scenario reader's words).
    [
      'many',
      (c) => {
        for (let i = 0; i < 7; i++) c.limits[`odd key ${i}`] = i;
      },
      `limits["odd key 0"]: unknown keys 'odd key 0', 'odd key 1', 'odd key 2', 'odd key 3', 'odd key 4' and 2 more, expected one of maxSteps, fairSpin, spinProgress, retries`,
    ],
    ['setting', (c) => (c.settings.vcpuz = 1), 'settings vcpuz=1: unknown setting'],
  ];
  for (const [name, alter, message] of cases) {
    const c = structuredClone(cex) as Json;
    alter(c);
    const f = join(dir, `keys-${name}.json`);
    writeFileSync(f, JSON.stringify(c));
    const line = refused(await cli('replay', f), f, /./);
    assert.ok(line.startsWith(`mmulab: ${f}: ${message}`), `${name}: ${line}`);
  }
});

test('replay (regression): limits.maxSteps below the schedule\'s length is refused at limits.maxSteps (it was blamed on the schedule: "the execution ended (truncated) after 5 steps, but the schedule has N")', async () => {
  const { cex } = await cexOf('short-cex');
  const length = (cex.schedule as { choices: number[] }).choices.length;
  for (const maxSteps of [5, length - 1]) {
    const f = join(dir, `short-${maxSteps}.json`);
    writeFileSync(f, JSON.stringify({ ...cex, limits: { ...(cex.limits as object), maxSteps } }));
    const line = refused(await cli('replay', f), f, /./);
    assert.equal(
      line,
      `mmulab: ${f}: limits.maxSteps: ${maxSteps}, expected a whole number >= ${length}, the schedule's length (the check ran all of its steps within limits.maxSteps)`,
    );
  }
  // Exactly the schedule's length, or more: the same steps, the same violation.
  for (const maxSteps of [length, 100_000]) {
    const f = join(dir, `fits-${maxSteps}.json`);
    writeFileSync(f, JSON.stringify({ ...cex, limits: { ...(cex.limits as object), maxSteps } }));
    const out = join(dir, `fits-${maxSteps}-replayed.json`);
    const r = await cli('replay', f, '--json', out);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).steps, cex.steps);
  }
  // Another rule of the scheduler: the recorded steps no longer fit (the livelock of precheck-plain-read, found with retries
  // deferred, has vCPU1 take a local step where migrate ran), and the limits are named among what may have been edited.
  const ll = join(dir, 'rule-cex.json');
  assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'precheck-plain-read', '--out', ll)).code, 1);
  const llCex = JSON.parse(readFileSync(ll, 'utf8'));
  const f = join(dir, 'rule.json');
  writeFileSync(f, JSON.stringify({ ...llCex, limits: { ...llCex.limits, retries: 'interleaved' } }));
  refused(
    await cli('replay', f),
    f,
    /: schedule: replay: step \d+ .*\(written by another version of the model, or edited: its schedule, or the limits, settings or mutant it runs under\)$/,
  );
});

test('replay: counterexamples as every version of the format wrote them still replay (without limits.spinProgress, and without limits.retries when found with retries at any point)', async () => {
  const file = join(dir, 'old-cex.json');
  const found = await cli(
    'check',
    'fault-vs-invalidation-mini',
    '--mutate',
    'fault-skip-range-check',
    '--retries',
    'interleaved',
    '--no-minimise',
    '--out',
    file,
  );
  assert.equal(found.code, 1, found.stderr);
  const cex = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(Object.keys(cex), [
    'format',
    'scenario',
    'settings',
    'mutant',
    'mutantActed',
    'seed',
    'strategy',
    'property',
    'violation',
    'limits',
    'schedule',
    'steps',
  ]);
  // Files from before the mutant's acts were counted have no mutantActed.
  const { mutantActed: _, ...uncounted } = cex;
  const old = { ...uncounted, limits: { maxSteps: cex.limits.maxSteps, fairSpin: cex.limits.fairSpin } };
  const f = join(dir, 'old-cex-nolimits.json');
  writeFileSync(f, JSON.stringify(old));
  const r = await cli('replay', f);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, '');
});

test('replay --without-mutant ("does the fix hold?"): the schedule runs on the kernel\'s protocol to its end, or to where that protocol leaves it, with no violation: exit 0; editing the mutant away instead is refused with the flag named (a probe: every such replay was refused as another version of the model)', async () => {
  const wp = join(dir, 'wp.json');
  const found = await captured(['check', 'sync-children-mini', '--mutate', 'sync-children-wp-no-flush', '--out', wp]);
  assert.equal(found.code, 1, found.stderr);
  const ended = await captured(['replay', wp, '--without-mutant']);
  assert.equal(ended.code, 0, ended.stderr);
  assert.match(
    ended.stdout,
    /^no violation in the schedule's \d+ scheduler steps \(the \d+ events above\): it ends where .*wp\.json recorded stale-translation, and threads could run on \(this interleaving holds as far as it goes; mmulab check explores the rest\)$/m,
  );
  // The interleaving it ran, numbered as check numbers it, the count said matching its lines.
  const ran = ended.stdout.split('\n').filter((l) => /^ *\d+\. /.test(l));
  assert.ok(ran.length > 0 && /^ *1\. /.test(ran[0]!), ended.stdout);
  assert.match(ended.stdout, new RegExp(`\\(the ${ran.length} events above\\)`));
  // The line check prints, as printed, with the flag (the check above printed it beside the file it wrote; it was run
  // again without --out for it, the same search and the same counterexample).
  const cex = JSON.parse(readFileSync(wp, 'utf8'));
  const schedule = /^ {2}mmulab replay sync-children-mini --mutate sync-children-wp-no-flush --schedule (\S+)$/m.exec(found.stdout)![1]!;
  const fromLine = await captured(['replay', 'sync-children-mini', '--mutate', 'sync-children-wp-no-flush', '--schedule', schedule, '--without-mutant']);
  assert.equal(fromLine.code, 0, fromLine.stderr);
  assert.match(fromLine.stdout, /^no violation in the schedule's \d+ scheduler steps \(the \d+ events above\): it ends, and threads could run on/m);
  // The fixed fault retries where the mutant's went on: the protocol leaves the schedule there.
  const fsr = join(dir, 'fsr.json');
  assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', fsr)).code, 1);
  const left = await captured(['replay', fsr, '--without-mutant']);
  assert.equal(left.code, 0, left.stderr);
  // The interleaving the model without the mutant ran, numbered as check numbers events (the fault retrying where
  // the mutant's went on), and the point named by the event it came after, the scheduler's step in parentheses.
  const leftLines = left.stdout.split('\n');
  const events = leftLines.filter((l) => /^ *\d+\. /.test(l));
  assert.match(events.at(-1)!, /^ *\d+\. vCPU0: page fault gfn 0x0: RET_PF_RETRY\(stale\)$/, left.stdout);
  assert.ok(
    events.some((l) => /[:;] is_page_fault_stale gfn 0x0 \(mmu_invalidate_in_progress=1 .*\): stale: retry/.test(l)),
    left.stdout,
  );
  assert.match(
    leftLines.at(-2)!,
    new RegExp(
      `^no violation up to where the model without the mutant leaves the schedule, after event ${events.length}: the schedule's next step \\(scheduler step \\d+\\) runs vCPU\\d, which is `,
    ),
  );
  // The mutant edited away: refused as before, naming the flag.
  const edited = join(dir, 'wp-edited.json');
  writeFileSync(edited, JSON.stringify({ ...cex, mutant: null }));
  const r = await cli('replay', edited);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /: schedule: replay: the schedule ends after \d+ steps, but .* can still run \(.*; to replay a mutant's counterexample without it, keep the mutant and add --without-mutant\)$/m,
  );
});

test('replay --without-mutant with no violation writes the run that happened: --ftrace and --trace of it, --json marked violation null, exit 0 (a probe: nothing written, "no violation, so … not written")', async () => {
  const fsr = join(dir, 'fsr-out.json');
  assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', fsr)).code, 1);
  const [f, t, j] = ['fixed.txt', 'fixed-trace.json', 'fixed.json'].map((x) => join(dir, x));
  const r = await cli('replay', fsr, '--without-mutant', '--ftrace', f!, '--trace', t!, '--json', j!);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const log = readFileSync(f!, 'utf8');
  assert.match(log, /^# no violation up to where the model without the mutant leaves the schedule, after event \d+: /m);
  // The fixed fault retries where the mutant's went on.
  assert.match(log, /mmulab_page_fault_done: vcpu 0 gfn 0 ret RET_PF_RETRY\(stale\)/);
  const json = JSON.parse(readFileSync(j!, 'utf8'));
  assert.equal(json.violation, null);
  assert.equal(json.mutant, null);
  assert.equal(json.recordedProperty, 'stale-translation');
  assert.ok(json.steps.length > 0);
  assert.equal(JSON.parse(readFileSync(t!, 'utf8')).otherData.violation, null);
  // A schedule that runs out with no violation: the log's header says so before the events, not "the events above" (a probe).
  const apic = join(dir, 'apic-out.json');
  assert.equal((await cli('check', 'apic-reload-mini', '--mutate', 'apic-reload-no-retry', '--out', apic)).code, 1);
  const apicLog = join(dir, 'apic-fixed.txt');
  const ran = await captured(['replay', apic, '--without-mutant', '--ftrace', apicLog]);
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /\(the \d+ events above\): it ends where /);
  const header = readFileSync(apicLog, 'utf8');
  assert.match(header, /^# no violation in the schedule's \d+ scheduler steps \(the \d+ events\): it ends where /m);
  assert.doesNotMatch(header, /above/);
});

test('replay --without-mutant --report writes the page of the interleaving on the kernel\'s protocol: titled without the mutant, the outcome where the violation would be, a row per event and a last row where they stop, the replay line with the flag (a probe: refused, exit 2, "not with --without-mutant")', async () => {
  const fsr = join(dir, 'fsr-page.json');
  assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', fsr)).code, 1);
  const page = join(dir, 'fixed.html');
  const r = await captured(['replay', fsr, '--without-mutant', '--report', page]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const html = readFileSync(page, 'utf8');
  const outcome = /^(no violation up to where the model without the mutant leaves the schedule, after event (\d+): .*) \(this interleaving holds/m.exec(
    r.stdout,
  )!;
  const events = Number(outcome[2]);
  assert.match(html, /<h1>The kernel's protocol, without the mutant fault-skip-range-check: no violation<\/h1>/);
  assert.match(html, /<title>mmulab replay without the mutant: fault-vs-invalidation-mini<\/title>/);
  const unHtml = (t: string) => t.replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  const banner = /<div class="banner ok" id="outcome" data-events="(\d+)">✔ no violation on this interleaving<div class="detail">([^<]*)<\/div>/.exec(html)!;
  assert.equal(Number(banner[1]), events);
  assert.equal(unHtml(banner[2]!), outcome[1]);
  // The events as printed, one row each, none marked violating; then the row where they stop.
  const rows = [...html.matchAll(/<tr class="" data-step="(\d+)">/g)].map((m) => Number(m[1]));
  assert.deepEqual(
    rows,
    Array.from({ length: events }, (_, i) => i + 1),
  );
  assert.match(html, /RET_PF_RETRY\(stale\)<\/div><\/td>/);
  assert.match(html, new RegExp(`<tr class="ended" data-step="${events}">`));
  assert.doesNotMatch(html, /class="violating"|✖/);
  assert.match(html, /Replay it: <code>mmulab replay fault-vs-invalidation-mini --mutate fault-skip-range-check --schedule \S+ --without-mutant<\/code>/);
  assert.match(html, /data-setting="mutant">none \(the kernel protocol\)</);
  // The line's form gives the same page, its line the same.
  const line = /Replay it: <code>mmulab replay fault-vs-invalidation-mini --mutate fault-skip-range-check --schedule (\S+) --without-mutant/.exec(html)![1]!;
  const page2 = join(dir, 'fixed-line.html');
  const fromLine = await captured([
    'replay',
    'fault-vs-invalidation-mini',
    '--mutate',
    'fault-skip-range-check',
    '--schedule',
    line,
    '--without-mutant',
    '--report',
    page2,
  ]);
  assert.equal(fromLine.code, 0, fromLine.stderr);
  const html2 = readFileSync(page2, 'utf8');
  const lanes = (h: string) => /<table class="swim" id="swimlanes">.*?<\/table>/s.exec(h)![0];
  assert.equal(lanes(html2), lanes(html));
  assert.match(html2, /Replay it: <code>mmulab replay fault-vs-invalidation-mini --mutate fault-skip-range-check --schedule \S+ --without-mutant<\/code>/);
});
