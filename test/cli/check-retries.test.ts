import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-check-retries-');
const small = ['--set', 'vcpus=1', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1'];

interface Summary {
  exploration: { retries?: string };
  summary: { exhausted: boolean; executions: number };
}

test('check --retries: deferred (the default) exhausts unbounded dfs where interleaved does not, and the verdict says which retries ran', async () => {
  const deferred = await captured(['check', 'fault-vs-invalidation-mini', ...small, '--strategy', 'dfs', '--json', join(dir, 'deferred.json')]);
  assert.equal(deferred.code, 0, deferred.stderr);
  const d = load(join(dir, 'deferred.json')) as unknown as Summary;
  assert.equal(d.exploration.retries, 'deferred');
  assert.equal(d.summary.exhausted, true);
  assert.match(deferred.stdout, /^no violation: the space was exhausted$/m);
  assert.match(deferred.stdout, /^\(a retry after a failed attempt ran once the other threads were done or waiting: --retries interleaved/m);
  // Interleaved, each write of the invalidation between a failed attempt and
  // its retry doubles the traces: 1x1x1 is not done in the executions that
  // finish it deferred, many times over (279 deferred, 3,364 interleaved).
  const budget = String(d.summary.executions * 4);
  const args = ['check', 'fault-vs-invalidation-mini', ...small, '--strategy', 'dfs', '--retries', 'interleaved', '--max-executions', budget];
  const interleaved = await captured([...args, '--json', join(dir, 'interleaved.json')]);
  assert.equal(interleaved.code, 0, interleaved.stderr);
  const i = load(join(dir, 'interleaved.json')) as unknown as Summary;
  assert.equal(i.exploration.retries, 'interleaved');
  assert.equal(i.summary.exhausted, false);
  assert.doesNotMatch(interleaved.stdout, /a retry after a failed attempt/);
});

test('check --retries: the counterexample records the rule and replays under it; one written before the rule replays with retries interleaved', async () => {
  for (const retries of ['deferred', 'interleaved']) {
    const cex = join(dir, `cex-${retries}.json`);
    const r = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-seq-check', '--retries', retries, '--out', cex);
    assert.equal(r.code, 1, r.stderr);
    const written = JSON.parse(readFileSync(cex, 'utf8')) as { limits: { retries?: string }; property: string };
    assert.equal(written.limits.retries, retries);
    const replay = await cli('replay', cex, '--json', join(dir, `replayed-${retries}.json`));
    assert.equal(replay.code, 1, replay.stderr);
    assert.deepEqual(load(join(dir, `replayed-${retries}.json`)), load(cex));
    if (retries === 'interleaved') {
      // The same file as an older mmulab wrote it: no field, the same replay.
      const old = JSON.parse(readFileSync(cex, 'utf8')) as { limits: Record<string, unknown> };
      delete old.limits.retries;
      const oldFile = join(dir, 'cex-old.json');
      writeFileSync(oldFile, JSON.stringify(old));
      const again = await cli('replay', oldFile, '--json', join(dir, 'replayed-old.json'));
      assert.equal(again.code, 1, again.stderr);
      assert.deepEqual(load(join(dir, 'replayed-old.json')), load(cex));
    }
  }
});

test('check and audit --retries: anything but deferred or interleaved is refused in one line, exit 2', async () => {
  for (const command of ['check', 'audit']) {
    const r = await cli(command, 'fault-vs-invalidation-mini', '--retries', 'sometimes');
    assert.equal(r.code, 2, command);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--retries sometimes: expected deferred or interleaved/);
  }
});
