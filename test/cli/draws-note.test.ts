import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { drawnChoices } from '../../src/scenario/drawn-choices.js';
import { loadScenario } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-draws-note-');

test("an exhausted dfs verdict says which of the model's random choices it took from --seed (a probe: memslot-delete-mini 1x1 with zap-fast-no-generation-bump was 'every interleaving with at most 2 preemptions was run' with seed 1, while seed 2 and pct find the violation)", async () => {
  const args = ['memslot-delete-mini', '--set', 'vcpus=1', '--set', 'faultsPerVcpu=1', '--mutate', 'zap-fast-no-generation-bump'];
  const r = await captured(['check', ...args, '--preemption-bound', '2', '--out', join(dir, 'a.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no violation: every interleaving with at most 2 preemptions was run\n/);
  assert.match(
    r.stdout,
    /\(the model's own random choices, the gfn each access touches and whether it writes \(vCPU0\), were those of --seed 1 in every execution: the verdict covers that draw of them; --seed 2 draws others\)\n/,
  );
  // The other draw it names holds the violation.
  const other = await captured(['check', ...args, '--preemption-bound', '2', '--seed', '2', '--out', join(dir, 'b.json')]);
  assert.equal(other.code, 1, other.stderr);
  // A model that draws nothing gets no such note.
  const plain = await captured(['check', 'fault-vs-invalidation-mini', '--preemption-bound', '1', '--out', join(dir, 'c.json')]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stdout, /random choices/);
});

test('drawnChoices names what each built-in check scenario draws', () => {
  assert.deepEqual(drawnChoices(loadScenario('fault-vs-invalidation-mini')), []);
  assert.deepEqual(drawnChoices(loadScenario('memslot-delete-mini')), ['the gfn each access touches and whether it writes (vCPU0, vCPU1)']);
  assert.deepEqual(drawnChoices(loadScenario('cached-roots-mini')), ['the gfn each access touches (vCPU0)']);
});
