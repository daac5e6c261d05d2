import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CompareResult, partialNote, renderCompare } from '../../src/cli/compare.js';
import { renderCompareReport } from '../../src/report/html-compare.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

test('compare table: a partial comparison says which runs were cut short (their column starred) and which never ran', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const off = effectiveSettings(s, { faultPrecheck: 'off' });
  const lockless = effectiveSettings(s, { faultPrecheck: 'lockless' });
  const whole = (seed: number, settings = off) => simulate(s, { settings, mutant: null, seed });
  const cut = simulate(s, { settings: lockless, mutant: null, seed: 1, maxSteps: 10 });
  assert.equal(cut.partial, true);
  const c: CompareResult = {
    format: 'mmulab-compare/1',
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off', 'lockless'], preemptible: [false, true] },
    seeds: [1, 2],
    rows: [
      { label: 'faultPrecheck=off', settings: off, results: [whole(1), whole(2)] },
      { label: 'faultPrecheck=lockless', settings: lockless, results: [cut] },
    ],
    partial: true,
    wallMs: 0,
  };
  const text = renderCompare(c);
  assert.match(text, /faultPrecheck=lockless \*/);
  // Counts of a run cut short are of less time: the table says how much each covered (a probe), and that zap-all's longest is of the zaps completed.
  assert.match(text, /\nsimulated time +\S+/);
  assert.doesNotMatch(text, /zap-all longest +[0-9]/);
  assert.match(text, /zap-all longest \(completed\)/);
  assert.doesNotMatch(text, /faultPrecheck=off \*/);
  const note = text.trim().split('\n').at(-1)!;
  assert.match(note, /^\(partial; \* cut short: faultPrecheck=lockless seed 1 at .*; not run: faultPrecheck=lockless seed 2; 2 variants of 4\)$/);
  // The runs missing are named by seed, wherever they are (a merge of sweep parts may miss any).
  const gap = renderCompare({ ...c, rows: [{ ...c.rows[0]!, results: [c.rows[0]!.results[1]!] }, c.rows[1]!] });
  assert.match(gap.trim().split('\n').at(-1)!, /not run: faultPrecheck=off seed 1; faultPrecheck=lockless seed 2;/);
  // A shard holds its own cells only: the others are not missing from it.
  const shard = renderCompare(c, (row, k) => (row * 2 + k) % 2 === 0);
  assert.doesNotMatch(shard, /not run: faultPrecheck=lockless seed 2/);
  // The HTML page says it too, instead of "Every variant completed".
  const html = renderCompareReport(
    c.rows.map((r) => ({ label: r.label, results: r.results, series: [] })),
    { partial: partialNote(c), sets: ['vcpus=3'] },
  );
  // The --set list every variant ran with heads the page, as it heads the table.
  assert.match(html, /seeds 1, 2 · --set vcpus=3<\/div>/);
  assert.match(html, /Not every run completed: \(partial; \* cut short: faultPrecheck=lockless seed 1/);
  assert.doesNotMatch(html, /Every variant completed/);
  // Complete: no note, no star.
  const done = renderCompare({ ...c, rows: [c.rows[0]!], vary: { faultPrecheck: ['off'] }, partial: false });
  assert.doesNotMatch(done, /partial|\*/);
});

test('compare table: shadow pages peak is a row only when a variant shadow-pages (under TDP there are none)', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const row = (label: string, mmu: 'tdp' | 'shadow') => {
    const settings = effectiveSettings(s, { mmu });
    return { label, settings, results: [simulate(s, { settings, mutant: null, seed: 1 })] };
  };
  const c: CompareResult = {
    format: 'mmulab-compare/1',
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off', 'lockless'] },
    seeds: [1],
    rows: [row('a', 'tdp'), row('b', 'tdp')],
    partial: false,
    wallMs: 0,
  };
  assert.doesNotMatch(renderCompare(c), /shadow pages/);
  assert.match(
    renderCompare({ ...c, vary: { mmu: ['tdp', 'shadow'] }, rows: [row('mmu=tdp', 'tdp'), row('mmu=shadow', 'shadow')] }),
    /shadow pages peak +0 +\d+/,
  );
});
