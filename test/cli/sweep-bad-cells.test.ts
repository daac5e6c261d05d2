import assert from 'node:assert/strict';
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
