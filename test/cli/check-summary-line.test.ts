import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-check-summary-');

test("check's summary line names auto when auto ran, whose executions are both phases' (a probe: it read 'dfs: 32281 executions', 20,000 of them pct's)", async () => {
  const r = await captured(['check', 'fault-vs-invalidation-mini', '--set', 'vcpus=1', '--out', join(dir, 'c.json')]);
  assert.equal(r.code, 0, r.stderr);
  const [summary, pct] = r.stdout.split('\n');
  assert.match(summary!, /^auto: (\d+) executions \(exhausted\)/);
  const total = Number(/^auto: (\d+)/.exec(summary!)![1]);
  const pctRuns = Number(/^pct \(depth 3\): (\d+) executions/.exec(pct!)![1]);
  assert.ok(pctRuns > 0 && total > pctRuns, `${total} in all, ${pctRuns} of pct`);
});
