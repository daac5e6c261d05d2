import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Settings } from '../../src/kvm/settings.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Vary } from '../../src/sweep/grid.js';
import { gridCells, gridRows, parseShard, shardCells } from '../../src/sweep/grid.js';
import { runCells } from '../../src/sweep/pool.js';
import { mergeSweeps, missingCells, runSweep } from '../../src/sweep/sweep.js';

/** JSON with every wallMs zeroed: the only field allowed to differ between identical runs. */
const norm = (v: unknown) => JSON.stringify(v, (k, x) => (k === 'wallMs' ? 0 : x));

const scenario = loadScenario('fault-vs-invalidation-mini');
const vary: Vary = [
  { key: 'faultPrecheck', values: ['off', 'lockless'] },
  { key: 'preemptible', values: [true, false] },
];
const seeds = [1, 2, 3];

test('sweep: shards merged equal the unsharded run (any part order, ignoring wallMs)', async () => {
  const whole = await runSweep(scenario, {}, vary, seeds, { workers: 2, mutant: null });
  assert.equal(whole.partial, false);
  assert.equal(whole.rows.length, 4);
  for (const r of whole.rows)
    assert.deepEqual(
      r.results.map((x) => x.seed),
      seeds,
    );
  const parts = [];
  for (let i = 0; i < 5; i++) parts.push(await runSweep(scenario, {}, vary, seeds, { workers: i % 2, mutant: null, shard: { index: i, count: 5 } }));
  assert.ok(parts.every((p) => p.shard !== null));
  assert.equal(norm(mergeSweeps(parts)), norm(whole));
  assert.equal(norm(mergeSweeps([...parts].reverse())), norm(whole));
});

test('sweep: merge refuses overlapping parts and marks missing cells partial', async () => {
  const a = await runSweep(scenario, {}, vary, seeds, { workers: 0, mutant: null, shard: { index: 0, count: 2 } });
  assert.throws(() => mergeSweeps([a, a]), /more than one part/);
  const merged = mergeSweeps([a]);
  assert.equal(merged.partial, true);
  // Shard 1/2's cells (odd numbers: seed 2 of each row, and seeds 1 and 3 of the rows between) are named, in cell order.
  assert.deepEqual(missingCells(merged).slice(0, 3), [
    'faultPrecheck=off preemptible=true seed 2',
    'faultPrecheck=off preemptible=false seed 1',
    'faultPrecheck=off preemptible=false seed 3',
  ]);
  assert.equal(missingCells(merged).length, 6);
});

test("sweep: merge keeps the lowest failing cell's bad input, and only the cells before it, as the unsharded sweep does", () => {
  const result = (seed: number) =>
    ({ seed, scenario: 's', mutant: null, settings: { mmu: 'tdp' } }) as unknown as Parameters<
      typeof mergeSweeps
    >[0][number]['rows'][number]['results'][number];
  // One row, seeds 1 to 4: cells 0 to 3; shard i/2 holds cells i and i+2.
  const part = (index: number, seeds: number[], failed?: { message: string; cell: number }) =>
    ({
      format: 'mmulab-sweep/1',
      scenario: 's',
      scenarioDigest: 'd',
      mutant: null,
      sets: [],
      maxSteps: null,
      vary: { mmu: ['tdp'] },
      seeds: [1, 2, 3, 4],
      shard: { index, count: 2 },
      rows: [{ label: 'mmu=tdp', settings: { mmu: 'tdp' } as Settings, results: seeds.map(result) }],
      partial: failed !== undefined,
      ...(failed !== undefined ? { failed: failed.message, failedCell: failed.cell } : {}),
      wallMs: 1,
    }) as Parameters<typeof mergeSweeps>[0][number];
  // Cell 1 failed in part 1; part 0 ran cells 0 and 2: cell 2 is cut, as the unsharded sweep stops at cell 1.
  const m = mergeSweeps([part(0, [1, 3]), part(1, [], { message: 'at cell 1', cell: 1 })]);
  assert.equal(m.failed, 'at cell 1');
  assert.equal(m.failedCell, 1);
  assert.deepEqual(
    m.rows[0]!.results.map((r) => r.seed),
    [1],
  );
  // Both parts failed: the lower cell's, whatever the order given.
  const both = [part(0, [1], { message: 'at cell 2', cell: 2 }), part(1, [], { message: 'at cell 1', cell: 1 })];
  assert.equal(mergeSweeps(both).failed, 'at cell 1');
  assert.equal(mergeSweeps([...both].reverse()).failed, 'at cell 1');
  assert.equal(mergeSweeps([part(0, [1, 3]), part(1, [2, 4])]).failed, undefined);
});

test('sweep: a run in a worker thread gives the same JSON as in the main thread', async () => {
  for (const name of ['fault-vs-invalidation-mini', 'fault-during-invalidation']) {
    const s = structuredClone(loadScenario(name));
    s.stop.timeNs = Math.min(s.stop.timeNs ?? 2_000_000, 2_000_000);
    const cells = gridCells(gridRows(s, {}, [{ key: 'faultPrecheck', values: ['off', 'lockless'] }]), [7, 8]);
    const inWorker = (await runCells(s, cells, { workers: 2, mutant: null })).results;
    const inMain = (await runCells(s, cells, { workers: 0, mutant: null })).results;
    assert.equal(inWorker.size, cells.length);
    for (const c of cells) assert.equal(norm(inWorker.get(c.index)), norm(inMain.get(c.index)), `${name} cell ${c.index}`);
  }
});

test('sweep: --shard i/n takes every n-th cell starting at i, and the shards partition the grid', () => {
  const cells = gridCells(gridRows(scenario, {}, vary), seeds);
  assert.equal(cells.length, 12);
  const taken = [0, 1, 2].flatMap((i) => shardCells(cells, { index: i, count: 3 }).map((c) => c.index));
  assert.deepEqual(
    [...taken].sort((x, y) => x - y),
    cells.map((c) => c.index),
  );
  assert.deepEqual(
    shardCells(cells, { index: 1, count: 3 }).map((c) => c.index),
    [1, 4, 7, 10],
  );
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  assert.throws(() => parseShard('4/4'));
  assert.throws(() => parseShard('x'));
});

test('sweep: --vary vcpus runs each row at its size, in a worker as in the main thread, and its shards merge to the unsharded run', async () => {
  const sized: Vary = [
    { key: 'vcpus', values: [1, 3] },
    { key: 'faultPrecheck', values: ['off', 'lockless'] },
  ];
  const whole = await runSweep(scenario, {}, sized, [1, 2], { workers: 2, mutant: null });
  assert.deepEqual(
    whole.rows.map((r) => [r.label, r.size]),
    [
      ['vcpus=1 faultPrecheck=off', { vcpus: 1 }],
      ['vcpus=1 faultPrecheck=lockless', { vcpus: 1 }],
      ['vcpus=3 faultPrecheck=off', { vcpus: 3 }],
      ['vcpus=3 faultPrecheck=lockless', { vcpus: 3 }],
    ],
  );
  // Each vCPU makes the scenario's accesses: three vCPUs make three times one's.
  const accesses = (row: number) => whole.rows[row]!.results[0]!.metrics.guest.accesses;
  assert.ok(accesses(0) > 0);
  assert.equal(accesses(2), 3 * accesses(0));
  const inMain = await runSweep(scenario, {}, sized, [1, 2], { workers: 0, mutant: null });
  assert.equal(norm(inMain), norm(whole));
  const parts = [];
  for (let i = 0; i < 3; i++) parts.push(await runSweep(scenario, {}, sized, [1, 2], { workers: i % 2, mutant: null, shard: { index: i, count: 3 } }));
  assert.equal(norm(mergeSweeps(parts)), norm(whole));
});

test('sweep: bad input met in a worker comes back as bad input (exit 2), not as an internal error with a stack; the cells before it are kept, on workers as in the main thread (a probe: they were lost)', async () => {
  const s = loadScenario('slot-zap-accounting');
  s.stop.timeNs = 500_000;
  const cells = gridCells(gridRows(s, {}, [{ key: 'vcpus', values: [2, 3] }]), [1, 2]);
  for (const workers of [0, 1, 2]) {
    const { results, failed } = await runCells(s, cells, { workers, mutant: null });
    assert.ok(failed !== null, `${workers} workers`);
    assert.match(failed.message, /^vm\.memslots: vCPU2's page tables, its \d+ gfns after the guest kernel's/);
    // The first cell of vcpus=3 (index 2) fails: the two of vcpus=2 before it are kept, nothing after it.
    assert.equal(failed.cell, 2);
    assert.deepEqual([...results.keys()].sort(), [0, 1], `${workers} workers`);
  }
});
