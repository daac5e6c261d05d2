import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-repeated-');
const S = 'fault-vs-invalidation-mini';

async function refused(args: string[], line: string): Promise<void> {
  const r = await cli(...args);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `mmulab: ${line}\n`);
}

test('an option that takes one value, given twice, is refused on one line before the work (a probe: the last one won silently on run, check and compare)', async () => {
  const [j1, j2] = [join(dir, 'j1.json'), join(dir, 'j2.json')];
  await refused(['run', S, '--json', j1, '--json', j2], `--json given twice (${j1}, ${j2}); expected it once`);
  assert.equal(existsSync(j1) || existsSync(j2), false, 'nothing written');
  await refused(['run', S, '--seed', '1', '--seed=2'], '--seed given twice (1, 2); expected it once');
  await refused(['check', S, '--seed', '3', '--seed', '3'], '--seed given twice (3, 3); expected it once');
  await refused(
    ['check', S, '--mutate', 'fault-skip-seq-check', '--mutate', 'fault-skip-range-check'],
    '--mutate given twice (fault-skip-seq-check, fault-skip-range-check); expected it once',
  );
  await refused(['compare', S, '--vary', 'faultPrecheck=off,lockless', '--mutate', 'a', '--mutate', 'b'], '--mutate given twice (a, b); expected it once');
  // One with a default counts what was given, not the default.
  await refused(['compare', S, '--vary', 'faultPrecheck=off,lockless', '--seeds', '2', '--seeds', '3'], '--seeds given twice (2, 3); expected it once');
  // Options that collect still collect.
  const ok = await cli('run', S, '--set', 'faultPrecheck=off', '--set', 'preemptible=false', '--seed', '2', '--json', j1);
  assert.equal(ok.code, 0, ok.stderr);
});

test('--vary refuses a value given twice (after reading it: 1 and 01 are one count) and an empty value (a probe: vcpus=1,01 made two columns, mmu=tdp,,shadow dropped the empty one)', async () => {
  const compare = ['compare', S];
  await refused([...compare, '--vary', 'vcpus=1,01'], '--vary vcpus=1,01: vcpus=1 given twice (1, 01); expected each value once');
  await refused(
    [...compare, '--vary', 'preemptible=true,false,true'],
    '--vary preemptible=true,false,true: preemptible=true given twice (true, true); expected each value once',
  );
  await refused([...compare, '--vary', 'mmu=tdp,,shadow'], '--vary mmu=tdp,,shadow: value 2 of 3 is empty; expected key=a,b[,c] with no empty value');
  await refused([...compare, '--vary', 'mmu=tdp,'], '--vary mmu=tdp,: value 2 of 2 is empty; expected key=a,b[,c] with no empty value');
  await refused(
    ['sweep', S, '--workers', '0', '--vary', 'faultsPerVcpu=2,2'],
    '--vary faultsPerVcpu=2,2: faultsPerVcpu=2 given twice (2, 2); expected each value once',
  );
});

test("--vary's refusals of a setting echo the whole --vary as typed (a probe: '--vary nosuch=1: unknown setting', for --vary nosuch=1,2)", async () => {
  const sweep = ['sweep', S, '--workers', '0'];
  const r = await cli(...sweep, '--vary', 'nosuch=1,2');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^mmulab: --vary nosuch=1,2: unknown setting 'nosuch'; expected one of /);
  await refused(['compare', S, '--vary', 'faultPrecheck=off,bogus'], '--vary faultPrecheck=off,bogus: faultPrecheck expects one of lockless, off');
});
