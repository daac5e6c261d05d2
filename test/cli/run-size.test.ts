import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-run-size-');
const scenario = join(dir, 'small.yaml');
writeFileSync(
  scenario,
  `vm: { vcpus: 4, memslots: [{ id: 0, baseGfn: 0, pages: 4096 }] }
workload: { pattern: uniform, gfnStart: 0, gfnCount: 1024, writeRatio: 0.3, accessIntervalNs: 500 }
stop: { timeNs: 200000 }
seed: 7
`,
);

test('run --set vcpus=2 --set faultsPerVcpu=5 seed 7: the JSON records the size after settings, the header line says it (a probe found both the same as unresized)', async () => {
  const json = join(dir, 'sz.json');
  const r = await captured(['run', scenario, '--set', 'vcpus=2', '--set', 'faultsPerVcpu=5', '--set', 'faultPrecheck=off', '--json', json]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `${scenario}  seed 7  vcpus=2 faultsPerVcpu=5`);
  const out = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(out.size, { vcpus: 2, faultsPerVcpu: 5 });
  assert.deepEqual(Object.keys(out).slice(0, 7), ['format', 'scenario', 'scenarioDigest', 'seed', 'settings', 'size', 'mutant']);
  assert.equal((out.settings as Record<string, unknown>).faultPrecheck, 'off');
});

test('run seed 7 without a size --set: no size field, the header is scenario and seed', async () => {
  const json = join(dir, 'plain.json');
  const r = await captured(['run', scenario, '--json', json]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `${scenario}  seed 7`);
  assert.equal('size' in JSON.parse(readFileSync(json, 'utf8')), false);
});
