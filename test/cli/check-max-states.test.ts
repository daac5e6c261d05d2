import assert from 'node:assert/strict';

import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-check-max-states-');
const size = ['--set', 'vcpus=2', '--set', 'invalidations=2', '--set', 'faultsPerVcpu=2'];

interface Json {
  statesLost?: number;
  exploration: { strategy: { maxStates?: number } };
  summary: { exhausted: boolean; executions: number };
}

test('check --max-states: a full table of explored states explores states again, still to exhaustion, and says so', async () => {
  const roomy = await cli('check', 'fault-vs-invalidation-mini', ...size, '--preemption-bound', '2', '--json', join(dir, 'roomy.json'));
  assert.equal(roomy.code, 0, roomy.stderr);
  assert.doesNotMatch(roomy.stderr, /table of explored states was full/);
  const r = load(join(dir, 'roomy.json')) as unknown as Json;
  assert.equal(r.statesLost, undefined);
  assert.equal(r.summary.executions, 12_119);

  for (const workers of ['1', '2']) {
    const file = join(dir, `small-${workers}.json`);
    const small = await cli(
      'check',
      'fault-vs-invalidation-mini',
      ...size,
      '--preemption-bound',
      '2',
      '--max-states',
      '64',
      '--workers',
      workers,
      '--json',
      file,
    );
    assert.equal(small.code, 0, small.stderr);
    const s = load(file) as unknown as Json;
    // Room for what the table held and what it lost, a power of two (a probe: --max-states 1 with 770 lost advised 2).
    const advised = Math.max(128, 2 ** Math.ceil(Math.log2(64 + (s.statesLost ?? 0))));
    assert.match(
      small.stderr,
      new RegExp(`warning: the table of explored states was full: ${s.statesLost} states were explored again .*--max-states ${advised} makes room for them`),
    );
    assert.equal(s.exploration.strategy.maxStates, 64);
    assert.equal(s.summary.exhausted, true);
    assert.ok(s.statesLost !== undefined && s.statesLost > 0, `${workers} workers: ${s.statesLost}`);
    // Every state forgotten is explored again: more executions than with room for all.
    assert.ok(s.summary.executions > r.summary.executions, `${workers} workers: ${s.summary.executions}`);
    // Merged, it is said again (a probe: the merged JSON kept statesLost, the output did not say it).
    const merged = await cli('merge', file);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(
      merged.stderr,
      new RegExp(`warning: the table of explored states was full: ${s.statesLost} states were explored again .*--max-states ${advised} makes room for them`),
    );
  }
});

test('check --max-states: bad values and strategies without a table are bad input', async () => {
  for (const args of [
    ['--max-states', '0'],
    ['--max-states', 'lots'],
    ['--max-states', String(2 ** 27)],
    ['--strategy', 'pct', '--max-states', '100'],
  ]) {
    const r = await cli('check', 'fault-vs-invalidation-mini', ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /--max-states/, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
