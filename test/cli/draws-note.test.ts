import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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
  assert.match(r.stdout, /no violation: every interleaving with at most 2 preemptions was run, with the random choices of --seed 1 \(below\)\n/);
  assert.match(
    r.stdout,
    /\(the model's own random choices, the gfn each access touches and whether it writes \(vCPU0\), were those of --seed 1 in every execution: the verdict covers that draw of them; --draws explore branches on them; --seed 2 draws others\)\n/,
  );
  // The other draw it names holds the violation.
  const other = await captured(['check', ...args, '--preemption-bound', '2', '--seed', '2', '--out', join(dir, 'b.json')]);
  assert.equal(other.code, 1, other.stderr);
  // A model that draws nothing gets no such note.
  const plain = await captured(['check', 'fault-vs-invalidation-mini', '--preemption-bound', '1', '--out', join(dir, 'c.json')]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stdout, /random choices/);
});

/**
 * memslot-delete-mini over two one-page slots, the first deleted: an access draws one of 2 gfns
 * (and whether it writes), so --draws explore has fewer values to branch on than over 8 gfns, and
 * seed 1 and 2 draw the gfn of the slot kept, where zap-fast-no-generation-bump leaves nothing stale.
 */
function twoPageMemslotDelete(): string {
  const file = join(dir, 'two-pages.yaml');
  writeFileSync(
    file,
    readFileSync('scenarios/memslot-delete-mini.yaml', 'utf8')
      .replace('{ id: 0, baseGfn: 0, pages: 4 }', '{ id: 0, baseGfn: 0, pages: 1 }')
      .replace('{ id: 1, baseGfn: 4, pages: 4 }', '{ id: 1, baseGfn: 1, pages: 1 }')
      .replace('gfnCount: 8', 'gfnCount: 2')
      .replace('op: delete, slot: 1 }', 'op: delete, slot: 0 }'),
  );
  return file;
}

test('check --draws explore branches on the draws: the violation seed 1 missed is found, and the unmutated verdict says every value was run', async () => {
  const args = [twoPageMemslotDelete(), '--set', 'vcpus=1', '--set', 'faultsPerVcpu=1', '--preemption-bound', '2'];
  const mutant = ['--mutate', 'zap-fast-no-generation-bump'];
  const missed = await captured(['check', ...args, ...mutant, '--out', join(dir, 'seeded.json')]);
  assert.equal(missed.code, 0, missed.stderr);
  assert.match(missed.stdout, /no violation: every interleaving with at most 2 preemptions was run, with the random choices of --seed 1 \(below\)\n/);
  const found = await captured(['check', ...args, '--draws', 'explore', ...mutant, '--out', join(dir, 'd.json')]);
  assert.equal(found.code, 1, found.stderr);
  assert.match(found.stdout, /=> stale-translation/);
  const replayed = await captured(['replay', join(dir, 'd.json')]);
  assert.equal(replayed.code, 1, replayed.stderr);
  const clean = await captured(['check', ...args, '--draws', 'explore', '--out', join(dir, 'e.json')]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(
    clean.stdout,
    /\(the model's own random choices, the gfn each access touches and whether it writes \(vCPU0\), were branched on: every value of each was run\)\n/,
  );
});

test('with --draws explore, a draw over more values than a branch point takes is still from the seed, and the verdict names it', async () => {
  // memslot-delete-mini over 16 gfns: an access draws one of 16, past MAX_DRAW_BRANCH (8).
  const wide = join(dir, 'wide.yaml');
  writeFileSync(
    wide,
    readFileSync('scenarios/memslot-delete-mini.yaml', 'utf8')
      .replace('{ id: 0, baseGfn: 0, pages: 4 }', '{ id: 0, baseGfn: 0, pages: 8 }')
      .replace('{ id: 1, baseGfn: 4, pages: 4 }', '{ id: 1, baseGfn: 8, pages: 8 }')
      .replace('gfnCount: 8', 'gfnCount: 16'),
  );
  const r = await captured([
    'check',
    wide,
    '--set',
    'vcpus=1',
    '--set',
    'faultsPerVcpu=1',
    '--preemption-bound',
    '1',
    '--draws',
    'explore',
    '--out',
    join(dir, 'f.json'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /\(the model's own random choices over more than 8 values, the gfn each access touches \(vCPU0\), were those of --seed 1 in every execution: the verdict covers that draw of them; the smaller ones were branched on; --seed 2 draws others\)\n/,
  );
  assert.deepEqual(drawnChoices(loadScenario(wide), 8), ['the gfn each access touches (vCPU0, vCPU1)']);
});

test('--draws is refused where nothing branches, and takes seeded or explore only', async () => {
  const pct = await captured(['check', 'memslot-delete-mini', '--strategy', 'pct', '--draws', 'explore']);
  assert.equal(pct.code, 2);
  assert.equal(pct.stderr, 'mmulab: --draws explore: expected --strategy dfs or auto, not pct (which draws from --seed)\n');
  const odd = await captured(['check', 'memslot-delete-mini', '--draws', 'all']);
  assert.equal(odd.code, 2);
  assert.equal(odd.stderr, 'mmulab: --draws all: expected seeded or explore\n');
});

test('drawnChoices names what each built-in check scenario draws', () => {
  assert.deepEqual(drawnChoices(loadScenario('fault-vs-invalidation-mini')), []);
  assert.deepEqual(drawnChoices(loadScenario('memslot-delete-mini')), ['the gfn each access touches and whether it writes (vCPU0, vCPU1)']);
  assert.deepEqual(drawnChoices(loadScenario('cached-roots-mini')), ['the gfn each access touches (vCPU0)']);
  // Branching on draws of up to 8 values, none of theirs is left to the seed.
  for (const name of ['memslot-delete-mini', 'cached-roots-mini', 'root-zap-mini']) assert.deepEqual(drawnChoices(loadScenario(name), 8), []);
});
