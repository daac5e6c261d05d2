import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySets } from '../../src/cli/overrides.js';
import { scenarioDigest } from '../../src/scenario/digest.js';
import { InputError } from '../../src/scenario/input-error.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Vary } from '../../src/sweep/grid.js';
import { mergeSweeps, runSweep } from '../../src/sweep/sweep.js';

const mini = loadScenario('fault-vs-invalidation-mini');
const vary: Vary = [{ key: 'faultPrecheck', values: ['off', 'lockless'] }];

/** One shard of the sweep of `mini` resized by `sets`. */
function part(sets: string[], index: number, count: number, maxSteps?: number) {
  const { scenario, settings } = applySets(mini, sets);
  return runSweep(scenario, settings, vary, [1, 2], { workers: 0, mutant: null, sets, maxSteps, shard: { index, count } });
}

const refused = (pattern: RegExp) => (e: Error) => {
  assert.ok(e instanceof InputError, `${e.name}: ${e.message}`);
  assert.match(e.message, pattern);
  return true;
};

test('sweep (regression): the result records --set, --max-steps and a digest of the scenario as run; merge compares them', async () => {
  const a = await part(['vcpus=1'], 0, 2);
  assert.deepEqual(a.sets, ['vcpus=1']);
  assert.equal(a.maxSteps, null);
  assert.equal(a.scenarioDigest, scenarioDigest(applySets(mini, ['vcpus=1']).scenario));
  assert.notEqual(a.scenarioDigest, scenarioDigest(mini));
  const four = await part(['vcpus=4'], 1, 2);
  assert.throws(() => mergeSweeps([a, four], ['a.json', 'b.json']), refused(/^b\.json: --set differs from a\.json's: vcpus=4 against vcpus=1$/));
  const cut = await part(['vcpus=1'], 1, 2, 5);
  assert.throws(() => mergeSweeps([a, cut], ['a.json', 'b.json']), refused(/^b\.json: --max-steps differs from a\.json's: 5 against \(none\)$/));
  // The same --sets in another order are the same sweep.
  const two = await part(['vcpus=1', 'invalidations=1'], 0, 2);
  const owt = await part(['invalidations=1', 'vcpus=1'], 1, 2);
  assert.equal(mergeSweeps([two, owt]).partial, false);
  // A scenario changed under the same name (a file edited, another folder's x.yaml).
  const b = await part(['vcpus=1'], 1, 2);
  assert.throws(
    () => mergeSweeps([a, { ...b, scenarioDigest: 'sha256:0123' }], ['a.json', 'b.json']),
    refused(/^b\.json: the scenario's content \(scenarioDigest\) differs/),
  );
  assert.equal(mergeSweeps([a, b]).partial, false);
});

test('sweep (regression): merge refuses a part that holds cells of another shard, or seeds of no cell, naming the file', async () => {
  const a = await part([], 0, 2);
  const b = await part([], 1, 2);
  // Cell 1 (row 0, seed 2) is shard 1's: in shard 0's file it is another sweep's (or an edit).
  const moved = structuredClone(a);
  moved.rows[0]!.results.push(b.rows[0]!.results[0]!);
  assert.throws(
    () => mergeSweeps([moved, b], ['a.json', 'b.json']),
    refused(/^a\.json: rows\[0\]\.results\[1\]\.seed: cell 1 \(faultPrecheck=off, seed 2\) is not one of shard 0\/2's$/),
  );
  const stray = structuredClone(a);
  stray.rows[0]!.results[0]!.seed = 7;
  assert.throws(() => mergeSweeps([stray, b], ['a.json', 'b.json']), refused(/^a\.json: rows\[0\]\.results\[0\]\.seed: expected one of the seeds 1,2, got 7$/));
});

test("sweep (regression): merge refuses a result that contradicts its part's header or row: settings, scenario, mutant (a probe: hand-edited parts merged, exit 0)", async () => {
  const a = await part([], 0, 2);
  const b = await part([], 1, 2);
  const edited = (edit: (p: typeof a) => void) => {
    // As read from a file: a result's settings are not its row's object (structuredClone would keep them one).
    const p = JSON.parse(JSON.stringify(a)) as typeof a;
    edit(p);
    return () => mergeSweeps([p, b], ['a.json', 'b.json']);
  };
  assert.throws(
    edited((p) => (p.rows[0]!.results[0]!.settings.faultPrecheck = 'lockless')),
    refused(/^a\.json: rows\[0\]\.results\[0\]\.settings: expected its row's \(rows\[0\]\.settings\) faultPrecheck=off, got faultPrecheck=lockless$/),
  );
  assert.throws(
    edited((p) => (p.rows[1]!.results[0]!.scenario = 'other')),
    refused(/^a\.json: rows\[1\]\.results\[0\]\.scenario: expected the part's scenario fault-vs-invalidation-mini, got other$/),
  );
  assert.throws(
    edited((p) => (p.rows[0]!.results[0]!.mutant = 'fault-skip-seq-check')),
    refused(/^a\.json: rows\[0\]\.results\[0\]\.mutant: expected the part's mutant \(none\), got fault-skip-seq-check$/),
  );
  assert.equal(mergeSweeps([a, b]).partial, false);
});

test('sweep (regression): merge refuses parts of different splits, as check does, and says a cell given twice in one part is duplicated there (a probe: 0/4 with 1/14 merged partial without comment)', async () => {
  const four = await part([], 0, 4);
  const fourteen = await part([], 1, 14);
  assert.throws(
    () => mergeSweeps([four, fourteen], ['a.json', 'b.json']),
    refused(/^b\.json: shard: parts of different splits \(--shard i\/14 and a\.json's --shard i\/4\); expected the parts of one --shard i\/n$/),
  );
  const whole = await part([], 0, 1);
  assert.throws(
    () => mergeSweeps([{ ...whole, shard: null }, four], ['w.json', 'a.json']),
    refused(/^a\.json: shard: parts of different splits \(--shard i\/4 and w\.json's no --shard\)/),
  );
  const a = await part([], 0, 2);
  const b = await part([], 1, 2);
  const twice = structuredClone(a);
  twice.rows[0]!.results.push(structuredClone(a.rows[0]!.results[0]!));
  assert.throws(
    () => mergeSweeps([b, twice], ['b.json', 'a.json']),
    refused(/^a\.json: rows\[0\]\.results\[1\]\.seed: cell faultPrecheck=off seed 1 is duplicated within this part \(rows\[0\]\.results\[0\] holds it too\)$/),
  );
  // In two parts: both named.
  assert.throws(
    () => mergeSweeps([a, a], ['a.json', 'a2.json']),
    refused(/^a2\.json: cell faultPrecheck=off seed 1 appears in more than one part \(a\.json holds it too\)$/),
  );
  // One file given twice is said so (a probe: it read as two parts holding a cell).
  assert.throws(() => mergeSweeps([a, a], ['a.json', 'a.json']), refused(/^a\.json: given twice \(each part once\)$/));
});
