import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-sweep-bad-cells-');

test("sweep and merge mark the columns with a violation or a livelock (compare's †) and name each such cell on stderr with the run that replays it (a probe: only the last rows told)", async () => {
  const args = ['mmio-sync-mini', '--vary', 'syncMmioSpte=restamp,zap', '--seeds', '2', '--workers', '0'];
  const r = await captured(['sweep', ...args, '--json', join(dir, 'all.json')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^cells: .* {2}syncMmioSpte=restamp † {2}syncMmioSpte=zap$/m);
  assert.match(r.stdout, /^\(† stopped early, its counts of a shorter run: syncMmioSpte=restamp seed 1 at its violation at /m);
  const lines = [1, 2].map(
    (seed) => `mmulab: syncMmioSpte=restamp seed ${seed}: stale-mmio; replay it with: mmulab run mmio-sync-mini --set syncMmioSpte=restamp --seed ${seed}\n`,
  );
  assert.equal(r.stderr, lines.join(''));
  // The line replays it.
  assert.equal((await cli('run', 'mmio-sync-mini', '--set', 'syncMmioSpte=restamp', '--seed', '2')).code, 1);
  // Merged parts say the same.
  for (let i = 0; i < 2; i++) await cli('sweep', ...args, '--shard', `${i}/2`, '--json', join(dir, `p${i}.json`));
  const m = await captured(['merge', join(dir, 'p0.json'), join(dir, 'p1.json')]);
  assert.equal(m.code, 1, m.stderr);
  assert.equal(m.stderr, lines.join(''));
  assert.match(m.stdout, /syncMmioSpte=restamp †/);
  // None violating: no mark, no line.
  const ok = await captured(['sweep', 'fault-vs-invalidation-mini', '--vary', 'faultPrecheck=off,lockless', '--workers', '0']);
  assert.equal(ok.code, 0);
  assert.doesNotMatch(ok.stdout, /†/);
  assert.equal(ok.stderr, '');
});

test("sweep of a scenario file names the file, as given, in a violating cell's replay line, not the name the file gives itself (a probe: 'mmulab run my-sync' ran nothing); merge, which has the name only, says FILE and what it is", async () => {
  const file = join(dir, 'named sync.yaml');
  writeFileSync(file, `name: my-sync\n${readFileSync('scenarios/mmio-sync-mini.yaml', 'utf8')}`);
  const args = [file, '--vary', 'syncMmioSpte=restamp,zap', '--workers', '0'];
  const r = await captured(['sweep', ...args]);
  assert.equal(r.code, 1, r.stderr);
  const quoted = `'${file}'`;
  assert.equal(r.stderr, `mmulab: syncMmioSpte=restamp seed 1: stale-mmio; replay it with: mmulab run ${quoted} --set syncMmioSpte=restamp --seed 1\n`);
  // The line replays it.
  assert.equal((await cli('run', file, '--set', 'syncMmioSpte=restamp', '--seed', '1')).code, 1);
  for (let i = 0; i < 2; i++) await cli('sweep', ...args, '--shard', `${i}/2`, '--json', join(dir, `f${i}.json`));
  const m = await captured(['merge', join(dir, 'f0.json'), join(dir, 'f1.json')]);
  assert.equal(m.code, 1, m.stderr);
  assert.equal(
    m.stderr,
    'mmulab: syncMmioSpte=restamp seed 1: stale-mmio; replay it with: mmulab run FILE --set syncMmioSpte=restamp --seed 1 (FILE: the scenario file the parts ran, which names itself my-sync)\n',
  );
  // A file that names itself none is recorded by its path as given, which the merge's line names.
  const unnamed = join(dir, 'unnamed.yaml');
  writeFileSync(unnamed, readFileSync('scenarios/mmio-sync-mini.yaml', 'utf8'));
  for (let i = 0; i < 2; i++) await cli('sweep', unnamed, ...args.slice(1), '--shard', `${i}/2`, '--json', join(dir, `u${i}.json`));
  const u = await captured(['merge', join(dir, 'u0.json'), join(dir, 'u1.json')]);
  assert.equal(u.stderr, `mmulab: syncMmioSpte=restamp seed 1: stale-mmio; replay it with: mmulab run ${unnamed} --set syncMmioSpte=restamp --seed 1\n`);
});
