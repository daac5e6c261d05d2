import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-set-once-');
const S = 'fault-vs-invalidation-mini';

async function refused(args: string[], line: string): Promise<void> {
  const r = await cli(...args);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `mmulab: ${line}\n`);
}

test('--set with a key given twice is refused on every command, settings and size knobs alike (a probe: the last one won silently)', async () => {
  const twice = ['--set', 'faultPrecheck=off', '--set', 'faultPrecheck=lockless'];
  const line = '--set faultPrecheck=lockless: faultPrecheck is already set (--set faultPrecheck=off); expected each setting once';
  const json = join(dir, 'twice.json');
  await refused(['run', S, ...twice, '--json', json], line);
  assert.equal(existsSync(json), false, 'nothing written');
  await refused(['check', S, ...twice, '--json', json, '--out', join(dir, 'cex.json')], line);
  await refused(['compare', S, ...twice, '--vary', 'preemptible=true,false'], line);
  await refused(['sweep', S, ...twice, '--vary', 'preemptible=true,false', '--workers', '0'], line);
  await refused(['audit', S, ...twice], line);
  await refused(['replay', S, '--schedule', '0', ...twice], line);
  const size = '--set vcpus=3: vcpus is already set (--set vcpus=2); expected each setting once';
  await refused(['run', S, '--set', 'vcpus=2', '--set', 'vcpus=3'], size);
  await refused(['check', S, '--set', 'vcpus=2', '--set', 'faultsPerVcpu=1', '--set', 'vcpus=3', '--out', join(dir, 'cex.json')], size);
  await refused(['sweep', S, '--set', 'vcpus=2', '--set', 'vcpus=3', '--vary', 'preemptible=true,false', '--workers', '0'], size);
  // Each key once still goes, size knobs and settings mixed.
  assert.equal((await cli('run', S, '--set', 'vcpus=2', '--set', 'faultPrecheck=off', '--set', 'invalidations=1')).code, 0);
});

test('compare and sweep refuse a key both --set and --vary give (a probe: the varied values ran, the JSON recorded the --set and its digest)', async () => {
  const json = join(dir, 'vs.json');
  await refused(
    ['sweep', S, '--vary', 'vcpus=2', '--set', 'vcpus=3', '--workers', '0', '--json', json],
    '--set vcpus=3: vcpus is varied too (--vary vcpus=2); expected it in --set or in --vary, not both',
  );
  assert.equal(existsSync(json), false, 'nothing written');
  await refused(
    ['compare', S, '--vary', 'faultPrecheck=off', '--set', 'faultPrecheck=lockless'],
    '--set faultPrecheck=lockless: faultPrecheck is varied too (--vary faultPrecheck=off); expected it in --set or in --vary, not both',
  );
  await refused(
    ['compare', S, '--set', 'invalidations=1', '--vary', 'preemptible=true,false', '--vary', 'invalidations=1,2'],
    '--set invalidations=1: invalidations is varied too (--vary invalidations=1,2); expected it in --set or in --vary, not both',
  );
});

test("compare --json records the --set list (sets, as sweep's), and compare's and sweep's table headers print it (a probe: a size --set left no trace in compare's file)", async () => {
  const args = ['compare', S, '--set', 'vcpus=3', '--set', 'faultPrecheck=off', '--vary', 'preemptible=true,false', '--seeds', '2'];
  const [a, b] = [join(dir, 'c1.json'), join(dir, 'c2.json')];
  const r = await captured([...args, '--json', a]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `${S}, seeds 1,2, --set vcpus=3 --set faultPrecheck=off`);
  const c = load(a);
  assert.deepEqual(c.sets, ['vcpus=3', 'faultPrecheck=off']);
  assert.deepEqual(Object.keys(c), ['format', 'scenario', 'mutant', 'sets', 'vary', 'seeds', 'rows', 'partial', 'wallMs']);
  // Deterministic: the same command gives the same file but wall times.
  assert.equal((await captured([...args, '--json', b])).code, 0);
  assert.deepEqual(load(b), c);
  // Without --set: an empty list, the header as before.
  const none = await captured(['compare', S, '--vary', 'preemptible=true,false', '--json', b]);
  assert.deepEqual(load(b).sets, []);
  assert.equal(none.stdout.split('\n')[0], `${S}, seeds 1`);
  const sweep = await captured(['sweep', S, '--set', 'vcpus=3', '--vary', 'preemptible=true,false', '--workers', '0', '--shard', '0/2']);
  assert.equal(sweep.code, 0, sweep.stderr);
  assert.equal(sweep.stdout.split('\n')[0], `${S}, seeds 1, --set vcpus=3`);
});

test('--shard i/n refuses n past the most parts merge takes, before Number() rounds it (a probe: 1/9007199254740993 ran, merge refused the part)', async () => {
  const sweep = ['sweep', S, '--vary', 'preemptible=true,false', '--workers', '0'];
  await refused([...sweep, '--shard', '1/9007199254740993'], '--shard 1/9007199254740993: expected n at most 1000000');
  await refused([...sweep, '--shard', '0/1000001'], '--shard 0/1000001: expected n at most 1000000');
  await refused(['check', S, '--shard', `0/${'9'.repeat(400)}`], `--shard 0/${'9'.repeat(400)}: expected n at most 1000000`);
  // The largest is taken, and merge takes its part.
  const part = join(dir, 'big.json');
  assert.equal((await cli(...sweep, '--shard', '999999/1000000', '--json', part)).code, 0);
  // Its two cells are shard 0's and 1's: the merge of this part alone is read, then said to miss them (exit 2).
  const m = await cli('merge', part);
  assert.equal(m.code, 2, m.stderr);
  assert.match(m.stderr, /^mmulab: merge: 2 cells are in no part \(preemptible=true seed 1, preemptible=false seed 1\)/);
});
