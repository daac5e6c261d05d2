import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILTIN_DIR } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';
import { cli, spawned } from './in-process-cli.js';

const dir = tempDir('mmulab-replay-input-');

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
      /: schedule: replay: step 0 .* \(written by another version of the model, or edited\)$/,
    ],
    // An unknown property was taken as it was.
    ['property', (c) => (c.property = 'foo'), /: counterexample: bad or missing field 'property'$/],
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
  writeFileSync(fixed, JSON.stringify({ ...cex, mutant: null }));
  const out = join(dir, 'pp-fixed-replayed.json');
  const r = spawned('replay', fixed, '--json', out);
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
  const found = spawned('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', cexFile, '--report', page);
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
