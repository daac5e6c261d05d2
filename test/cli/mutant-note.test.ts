import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderCompare, runCompare } from '../../src/cli/compare.js';
import { idleMutantNote, mutantNote } from '../../src/cli/mutant-note.js';
import { summarizeRun } from '../../src/cli/summary.js';
import { MUTANTS } from '../../src/kvm/mutants.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-mutant-note-');
const tdp = join(dir, 'tdp.yaml');
writeFileSync(tdp, 'vm: { vcpus: 2, memslots: [{ id: 0, baseGfn: 0, pages: 1024 }] }\nworkload: { gfnCount: 1024 }\nstop: { timeNs: 50000 }\n');

test('mutant note: a mutant applied where its scenario does not run (zap-root-no-request, a shadow-paging mutant, under TDP) is said, naming the scenario meant and the settings that differ', () => {
  const settings = effectiveSettings(loadScenario(tdp));
  assert.equal(
    mutantNote('zap-root-no-request', 'tdp', [{ label: null, settings }]),
    "--mutate zap-root-no-request is meant for root-zap-mini (mmu=shadow); this run has mmu=tdp: the mutant may never act here, and then the results are the unmutated protocol's",
  );
  assert.match(
    mutantNote('zap-root-no-request', 'tdp', [
      { label: 'mmu=tdp', settings },
      { label: 'mmu=shadow', settings: { ...settings, mmu: 'shadow' } },
    ])!,
    /; variant mmu=tdp has mmu=tdp: /,
  );
  // Another scenario with the settings it needs: named, since nothing finer is known of the mutant.
  assert.match(
    mutantNote('zap-root-no-request', 'tdp', [{ label: null, settings: { ...settings, mmu: 'shadow' } }])!,
    /meant for root-zap-mini \(mmu=shadow\); this run is tdp: /,
  );
  assert.equal(mutantNote(null, 'tdp', [{ label: null, settings }]), null);
});

test('mutant note: none for each mutant on the scenario meant for it, as it stands', () => {
  for (const m of MUTANTS) {
    const s = loadScenario(m.scenario);
    assert.equal(mutantNote(m.name, m.scenario, [{ label: null, settings: effectiveSettings(s) }]), null, m.name);
  }
});

test('run --mutate zap-root-no-request on a TDP scenario warns on one line of stderr that it never acted, and its JSON says so (a probe: its JSON was the baseline with nothing said); a mutant that acts gets no warning; check of the mini scenario does not warn', async () => {
  const json = join(dir, 'run.json');
  const r = await cli('run', tdp, '--mutate', 'zap-root-no-request', '--json', json);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    "mmulab: warning: --mutate zap-root-no-request never acted in this run: nothing reached the place where it departs from the kernel (it is meant for root-zap-mini), so the results are the unmutated protocol's\n",
  );
  const result = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(result.mutantActed, 0);
  assert.match(summarizeRun(result), /^tdp {2}seed 1 {2}mutant=zap-root-no-request \(acted 0 times\)\n/);
  // Away from its scenario, on one where it acts: nothing to warn of.
  const acts = await cli('run', 'fault-during-invalidation', '--mutate', 'invalidate-skip-tlb-flush', '--json', json);
  assert.equal(acts.stderr, '');
  assert.ok(JSON.parse(readFileSync(json, 'utf8')).mutantActed > 0);
  // compare and sweep: after the runs, naming the variants.
  for (const command of ['compare', 'sweep']) {
    const v = await cli(command, tdp, '--vary', 'mmu=tdp,shadow', '--mutate', 'zap-root-no-request');
    assert.match(v.stderr, /^mmulab: warning: --mutate zap-root-no-request never acted in any variant: /, command);
  }
  const c = await cli(
    'check',
    'root-zap-mini',
    '--mutate',
    'zap-root-no-request',
    '--strategy',
    'pct',
    '--max-executions',
    '5',
    '--out',
    join(dir, 'cex.json'),
  );
  assert.doesNotMatch(c.stderr, /warning/);
});

test("compare's header names the mutant every run had (a probe: compare's terminal output never mentioned it)", () => {
  const s = loadScenario(tdp);
  const c = runCompare(s, {}, [{ key: 'faultPrecheck', values: ['off', 'lockless'] }], [1], { mutant: 'fault-skip-range-check' });
  assert.equal(c.mutant, 'fault-skip-range-check');
  assert.equal(renderCompare(c).split('\n')[0], 'tdp, seeds 1, mutant fault-skip-range-check');
  assert.equal(renderCompare(runCompare(s, {}, [{ key: 'faultPrecheck', values: ['off'] }], [1], { mutant: null })).split('\n')[0], 'tdp, seeds 1');
});

test('idle mutant note: names the runs in which the mutant never acted, and only those', () => {
  const acted = (...n: number[]) => n.map((mutantActed) => ({ mutantActed }));
  assert.equal(
    idleMutantNote('zap-root-no-request', [{ label: null, results: acted(0) }]),
    "--mutate zap-root-no-request never acted in this run: nothing reached the place where it departs from the kernel (it is meant for root-zap-mini), so the results are the unmutated protocol's",
  );
  assert.equal(idleMutantNote('zap-root-no-request', [{ label: null, results: acted(3) }]), null);
  assert.equal(idleMutantNote(null, [{ label: null, results: acted(0) }]), null);
  // A variant with one seed where it acted is not named; one where it never did is.
  assert.match(
    idleMutantNote('zap-root-no-request', [
      { label: 'mmu=tdp', results: acted(0, 0) },
      { label: 'mmu=shadow', results: acted(0, 2) },
    ])!,
    /never acted in variant mmu=tdp: /,
  );
  assert.match(
    idleMutantNote('zap-root-no-request', [
      { label: 'a', results: acted(0) },
      { label: 'b', results: acted(0) },
      { label: 'c', results: acted(1) },
    ])!,
    /never acted in variants a, b: /,
  );
  assert.match(
    idleMutantNote('zap-root-no-request', [
      { label: 'a', results: acted(0) },
      { label: 'b', results: acted(0) },
    ])!,
    /never acted in any variant: /,
  );
});
