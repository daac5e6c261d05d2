import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { workerCount } from '../../src/cli/limits.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-workers-cap-');

test('workerCount: up to the cores, as asked; past them, a warning; past 4 a core (at least 8), capped (a probe: 600 sweep workers on 2 cores took 11.8 GB)', () => {
  assert.deepEqual(workerCount(2, 2), { workers: 2, warning: null });
  assert.equal(workerCount(3, 2).workers, 3);
  assert.match(workerCount(3, 2).warning ?? '', /^--workers 3 is more than the 2 cores here/);
  assert.equal(workerCount(8, 2).workers, 8);
  assert.deepEqual(workerCount(600, 2), {
    workers: 8,
    warning:
      '--workers 600 is more than 4 a core for the 2 cores here: running 8, as more would only take memory and time (each worker has its own heap), not give another result',
  });
  assert.equal(workerCount(600, 64).workers, 256);
});

test('check and sweep run at most the cap of workers, and say so on one line; the result is the one fewer workers give', {
  skip: availableParallelism() > 16,
}, async () => {
  const cap = Math.max(8, 4 * availableParallelism());
  const sweep = await captured(['sweep', 'fault-vs-invalidation-mini', '--seeds', '3', '--workers', '600', '--json', join(dir, 's.json')]);
  assert.equal(sweep.code, 0, sweep.stderr);
  assert.equal(sweep.stderr, `mmulab: warning: ${workerCount(600).warning}\n`);
  assert.match(sweep.stderr, new RegExp(`running ${cap},`));
  const check = await captured([
    'check',
    'fault-vs-invalidation-mini',
    '--strategy',
    'pct',
    '--max-executions',
    '50',
    '--workers',
    '200',
    '--out',
    join(dir, 'c.json'),
  ]);
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.stderr, `mmulab: warning: ${workerCount(200).warning}\n`);
  assert.match(check.stdout, /^pct: 50 executions/);
});

test('sweep warns of more workers than cores as check does (a probe: sweep said nothing of 3 workers on 2 cores, check warned)', async () => {
  const cores = availableParallelism();
  const over = String(cores + 1);
  const sweep = await captured(['sweep', 'fault-vs-invalidation-mini', '--seeds', '2', '--workers', over, '--json', join(dir, 'over.json')]);
  assert.equal(sweep.code, 0, sweep.stderr);
  assert.equal(sweep.stderr, `mmulab: warning: ${workerCount(cores + 1).warning}\n`);
  assert.match(sweep.stderr, new RegExp(`--workers ${over} is more than the ${cores} cores here`));
  const fits = await captured(['sweep', 'fault-vs-invalidation-mini', '--seeds', '2', '--workers', String(cores), '--json', join(dir, 'fits.json')]);
  assert.equal(fits.stderr, '');
});
