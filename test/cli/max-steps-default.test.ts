import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { applySets } from '../../src/cli/overrides.js';
import { loadScenario } from '../../src/scenario/load.js';
import { scenarioWork } from '../../src/scenario/scenario-work.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-max-steps-');

test('check without --max-steps bounds an execution by its scenario\'s work: a world sized up by a size knob runs live executions to their end, not to a made-up livelock (a probe: faultsPerVcpu=6000 was "livelock", exit 1, at 10,000 steps)', async () => {
  const r = await captured([
    'check',
    'fault-vs-invalidation-mini',
    '--set',
    'faultsPerVcpu=6000',
    '--strategy',
    'pct',
    '--max-executions',
    '10',
    '--no-minimise',
    '--json',
    join(dir, 'a.json'),
    '--out',
    join(dir, 'a-cex.json'),
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^pct: 10 executions \(max-executions\), max depth \d{5},/);
  assert.match(r.stdout, /\nno violation found\n/);
  // 2 vCPUs x 6000 accesses, 2 invalidations, no APIC migration (counted as 1): 12,003 units, 100 steps each.
  assert.equal(scenarioWork(applySets(loadScenario('fault-vs-invalidation-mini'), ['faultsPerVcpu=6000']).scenario), 12_003);
  // The built-in check scenarios keep the default 10,000 (JSON: null, as given none).
  for (const name of [
    'fault-vs-invalidation-mini',
    'apic-reload-mini',
    'memslot-delete-mini',
    'root-zap-mini',
    'cached-roots-mini',
    'root-zap-shared-mini',
    'sync-children-mini',
    'zap-unsync-children-mini',
    'table-reuse-mini',
    'mmio-gen-mini',
    'mmio-sync-mini',
  ]) {
    assert.ok(100 * scenarioWork(loadScenario(name)) <= 10_000, name);
  }
});
