import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { captured } from '../cli/captured-cli.js';
import { tempDir } from '../temp-dir.js';

const GRID = ['sweep', 'memslot-delete-mini', '--vary', 'memslotFlush=zap-all-fast,zap-slot', '--vary', 'vcpus=1,2,3', '--seeds', '3', '--workers', '0'];

/** A table row's cells, by its label (the first column). */
function cells(stdout: string, label: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label}  `));
  assert.ok(line, `a row '${label}' in:\n${stdout}`);
  return line.slice(label.length).trim().split(/ {2,}/);
}

test("sweep --shard: a part's table says what it holds (its runs, each column's seeds), not 'mean over 3 seeds'; the merged table is the unsharded one (a probe: columns of seed 2, 3, none, 1 under a header of means over 3 seeds)", async () => {
  const dir = tempDir('mmulab-part-table-');
  const part = await captured([...GRID, '--shard', '1/4', '--json', join(dir, 'p1.json')]);
  assert.equal(part.code, 0, part.stderr);
  const header = part.stdout.split('\n')[1]!;
  assert.doesNotMatch(part.stdout, /over 3 seeds/);
  assert.match(header, /^cells: this part's 5 of 18 runs /);
  assert.deepEqual(cells(part.stdout, 'seeds (this part)'), ['2', '3', '-', '1', '2', '3']);
  assert.match(
    part.stdout,
    /\(shard 1\/4: a column's figures are of the seeds in its seeds row only; mmulab merge of every part gives the means over all seeds\)\n$/,
  );
  const files = [join(dir, 'p1.json')];
  for (const i of [0, 2, 3]) {
    files.push(join(dir, `p${i}.json`));
    assert.equal((await captured([...GRID, '--shard', `${i}/4`, '--json', files.at(-1)!])).code, 0);
  }
  const merged = await captured(['merge', ...files]);
  const whole = await captured(GRID);
  assert.equal(merged.stdout, whole.stdout);
  assert.match(whole.stdout.split('\n')[1]!, /^cells: mean \(min-max\) over 3 seeds /);
  assert.doesNotMatch(whole.stdout, /seeds \(this part\)/);
});

test("merge of some sweep parts: the table says how many of the grid's runs it holds (partial) and names each column's seeds, not 'mean (min-max) over 3 seeds' (a probe: that header over columns of seeds 1-2)", async () => {
  const dir = tempDir('mmulab-part-table-');
  const files = [0, 1].map((i) => join(dir, `m${i}.json`));
  for (const [i, file] of files.entries()) assert.equal((await captured([...GRID, '--shard', `${i}/3`, '--json', file])).code, 0);
  const r = await captured(['merge', ...files]);
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stdout, /over 3 seeds/);
  assert.match(r.stdout.split('\n')[1]!, /^cells: 12 of 18 runs \(partial\) /);
  assert.deepEqual(cells(r.stdout, 'seeds'), ['1,2', '1,2', '1,2', '1,2', '1,2', '1,2']);
  assert.match(r.stdout, /\n\(a column's figures are of the seeds in its seeds row only: /);
  assert.match(r.stdout, /\(partial; not run: .*seed 3.*\)\n$/);
});

test('sweep --shard: a part that holds no cell says so in one line, writes its JSON for merge, exit 0 (a probe: a table of "-")', async () => {
  const dir = tempDir('mmulab-part-table-');
  const file = join(dir, 'p19.json');
  const r = await captured([...GRID, '--shard', '19/20', '--json', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'shard 19/20 holds no cell (the grid has 18)\n');
  assert.ok(existsSync(file));
});

test('sweep: the invalidation figures run prints are rows (completed, time p50/max, SPTEs zapped by the notifiers), and a count whose seeds differ has its mean to one decimal, so the rows under faults add up to it within the last digit (a probe: 14 for 6 + 6 + 3, of 14.33 = 6 + 5.67 + 2.67)', async () => {
  const r = await captured(GRID);
  assert.equal(r.code, 0, r.stderr);
  const faults = cells(r.stdout, 'faults');
  assert.equal(faults[0], '14.3 (10-18)');
  assert.equal(cells(r.stdout, '  fixed')[0], '6');
  assert.equal(cells(r.stdout, '  emulated (RET_PF_EMULATE)')[0], '5.7 (4-7)');
  assert.equal(cells(r.stdout, '  retries on invalid slot')[0], '2.7 (0-6)');
  // Integers where every seed agrees.
  assert.equal(cells(r.stdout, 'guest accesses')[0], '16');
  const inv = await captured(['sweep', 'fault-vs-invalidation-mini', '--seeds', '2', '--workers', '0']);
  for (const label of ['invalidations completed', 'invalidation time p50', 'invalidation time max', 'SPTEs zapped by notifiers']) {
    assert.equal(cells(inv.stdout, label).length, 1, label);
  }
  assert.match(cells(inv.stdout, 'invalidations completed')[0]!, /^[1-9]/);
  assert.match(cells(inv.stdout, 'invalidation time max')[0]!, /^[1-9][0-9.]*(ns|µs)/);
});

test('check --shard: a part that holds no subtree says so in one line, writes its JSON for merge, exit 0 (a probe: "0 executions (exhausted) … every interleaving … was run")', async () => {
  const dir = tempDir('mmulab-part-table-');
  const file = join(dir, 't.json');
  const r = await captured([
    'check',
    'fault-vs-invalidation-mini',
    '--set',
    'vcpus=1',
    '--set',
    'invalidations=1',
    '--set',
    'faultsPerVcpu=1',
    '--shard',
    '63/64',
    '--json',
    file,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'shard 63/64 holds no subtree of this world\n');
  assert.ok(existsSync(file));
});
