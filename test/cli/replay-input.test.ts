import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILTIN_DIR } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

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
