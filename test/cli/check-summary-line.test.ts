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
  // Counts grouped by thousands, as the progress line and the minimised line print them.
  assert.match(summary!, /^auto: (\d{1,3}(,\d{3})*) executions \(exhausted\)/);
  const count = (text: string) => Number(text.replaceAll(',', ''));
  const total = count(/^auto: ([\d,]+)/.exec(summary!)![1]!);
  const pctRuns = count(/^pct \(depth 3\): ([\d,]+) executions/.exec(pct!)![1]!);
  assert.equal(pct, 'pct (depth 3): 20,000 executions, no violation');
  assert.ok(pctRuns > 0 && total > pctRuns, `${total} in all, ${pctRuns} of pct`);
});
