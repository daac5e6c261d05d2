import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderCompare, runCompare } from '../../src/cli/compare.js';
import { cexMutantNote, idleCheckNote, idleMutantNote, mutantNote } from '../../src/cli/mutant-note.js';
import { applySets } from '../../src/cli/overrides.js';
import { summarizeRun } from '../../src/cli/summary.js';
import { MUTANTS } from '../../src/kvm/mutants.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
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
    assert.equal(mutantNote(m.name, m.scenario, [{ label: null, settings: effectiveSettings(s) }], s), null, `${m.name}, its world given`);
  }
});

/** dirty-log-manual-mini's world with host.dirtyLog changed as given, named `name`. */
function manualCopy(name: string, dirtyLog: Record<string, unknown>) {
  const s = loadScenario('dirty-log-manual-mini');
  return { ...s, name, host: { ...s.host, dirtyLog: { ...s.host.dirtyLog!, ...dirtyLog } } };
}

test("mutant note, a mutant that declares what it needs (MutantSpec.needs): only those settings compared, and any world with the feature taken (a probe: clear-dirty-log-no-flush under mmu=shadow, and on a copy of its scenario with manual-initially-set, where it acts, were warned of as the scenario's name and mmu differed)", () => {
  const s = loadScenario('dirty-log-manual-mini');
  const shadow = effectiveSettings(s, { mmu: 'shadow' });
  // Both MMUs: no note.
  for (const m of ['clear-dirty-log-no-flush', 'dirty-log-copy-before-clear']) {
    assert.equal(mutantNote(m, 'dirty-log-manual-mini', [{ label: null, settings: shadow }], { ...s, settings: { ...s.settings, mmu: 'shadow' } }), null, m);
    // A setting the mutant does not need (the scenario's preemptible=true) changed: no note either.
    assert.equal(mutantNote(m, 'dirty-log-manual-mini', [{ label: null, settings: effectiveSettings(s, { preemptible: false }) }], s), null, m);
  }
  // A copy of the scenario under another name, with manual-initially-set: the feature is there.
  const initially = manualCopy('/tmp/initially-set.yaml', { protect: 'manual-initially-set' });
  for (const m of ['clear-dirty-log-no-flush', 'dirty-log-copy-before-clear']) {
    assert.equal(mutantNote(m, initially.name, [{ label: null, settings: effectiveSettings(initially) }], initially), null, m);
  }
  // plain-andnot: TDP's fast_page_fault alone marks without mmu_lock, and under manual-initially-set it needs a second harvest.
  assert.equal(
    mutantNote('clear-dirty-log-plain-andnot', 'dirty-log-manual-mini', [{ label: null, settings: shadow }], s),
    "--mutate clear-dirty-log-plain-andnot is meant for dirty-log-manual-mini (it needs mmu=tdp fastPageFault=on); this run has mmu=shadow: the mutant may never act here, and then the results are the unmutated protocol's",
  );
  assert.match(
    mutantNote('clear-dirty-log-plain-andnot', 'dirty-log-manual-mini', [{ label: null, settings: effectiveSettings(s, { fastPageFault: 'off' }) }], s)!,
    /\(it needs mmu=tdp fastPageFault=on\); this run has fastPageFault=off: /,
  );
  assert.match(
    mutantNote('clear-dirty-log-plain-andnot', initially.name, [{ label: null, settings: effectiveSettings(initially) }], initially)!,
    /; this run is \/tmp\/initially-set\.yaml, without a manual-protect dirty log whose clear may race a lockless mark \(host\.dirtyLog\.protect manual, or manual-initially-set with harvests 2 or more: /,
  );
  const twice = manualCopy('/tmp/twice.yaml', { protect: 'manual-initially-set', harvests: 2 });
  assert.equal(mutantNote('clear-dirty-log-plain-andnot', twice.name, [{ label: null, settings: effectiveSettings(twice) }], twice), null);
  // A scenario without the feature (dirty-log-mini: protect get) is still said, naming what it lacks.
  const get = loadScenario('dirty-log-mini');
  assert.equal(
    mutantNote('clear-dirty-log-no-flush', 'dirty-log-mini', [{ label: null, settings: effectiveSettings(get) }], get),
    "--mutate clear-dirty-log-no-flush is meant for dirty-log-manual-mini; this run is dirty-log-mini, without a dirty log under manual protect (host.dirtyLog.protect manual or manual-initially-set): the mutant may never act here, and then the results are the unmutated protocol's",
  );
  // The world not known (as in a merge of parts): the name decides, as for other mutants.
  assert.match(mutantNote('clear-dirty-log-no-flush', 'other', [{ label: null, settings: shadow }])!, /; this run is other: /);
  // The idle check note: the setting that differs, or none for a world that has the feature.
  assert.match(
    idleCheckNote('clear-dirty-log-plain-andnot', { executions: 3, mutantActedExecutions: 0 }, 'dirty-log-manual-mini', shadow, s)!,
    /\(it is meant for dirty-log-manual-mini \(it needs mmu=tdp fastPageFault=on\); this check has mmu=shadow: a setting may keep it from acting\)/,
  );
  assert.match(
    idleCheckNote('clear-dirty-log-no-flush', { executions: 3, mutantActedExecutions: 0 }, initially.name, effectiveSettings(initially), initially)!,
    /kernel in the interleavings run \(more of them may reach it\), so/,
  );
});

// check dirty-log-manual-mini --set mmu=shadow --mutate clear-dirty-log-no-flush (and dirty-log-copy-before-clear), and on a
// copy with protect: manual-initially-set: found, with no warning on stderr: test/cli/dirty-log-clear.test.ts, whose tests
// run those checks.
test('check dirty-log-manual-mini --set mmu=shadow --mutate clear-dirty-log-plain-andnot warns: the mutant needs mmu=tdp fastPageFault=on', async () => {
  const p = await cli('check', 'dirty-log-manual-mini', '--set', 'mmu=shadow', '--mutate', 'clear-dirty-log-plain-andnot', '--max-executions', '3');
  assert.match(
    p.stderr,
    /^mmulab: warning: --mutate clear-dirty-log-plain-andnot is meant for dirty-log-manual-mini \(it needs mmu=tdp fastPageFault=on\); this run has mmu=shadow: /,
  );
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
  // The scenario file named by its path as given, as check's results and counterexamples name it.
  assert.ok(summarizeRun(result).startsWith(`${tdp}  seed 1  mutant=zap-root-no-request (acted 0 times)\n`));
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
  assert.equal(renderCompare(c).split('\n')[0], `${tdp}, seeds 1, mutant fault-skip-range-check`);
  assert.equal(renderCompare(runCompare(s, {}, [{ key: 'faultPrecheck', values: ['off'] }], [1], { mutant: null })).split('\n')[0], `${tdp}, seeds 1`);
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

test('mutant note: settings compared as in effect, defaults included: a --set that changes a default the mutant needs (mmioCaching=false, a probe: only the keys its scenario file sets were compared) is said', () => {
  const s = loadScenario('mmio-gen-mini');
  assert.equal(
    mutantNote('mmio-check-ignores-update-in-progress', 'mmio-gen-mini', [{ label: null, settings: effectiveSettings(s, { mmioCaching: false }) }]),
    "--mutate mmio-check-ignores-update-in-progress is meant for mmio-gen-mini (mmioGenBits=1 mmioCaching=true); this run has mmioCaching=false: the mutant may never act here, and then the results are the unmutated protocol's",
  );
  assert.match(
    mutantNote('zap-root-no-request', 'root-zap-mini', [{ label: null, settings: effectiveSettings(loadScenario('root-zap-mini'), { mmu: 'tdp' }) }])!,
    /; this run has mmu=tdp: /,
  );
});

test("idle check note: said only when the mutant acted in none of the check's executions, with the setting that differs as the hint; the counterexample's note", () => {
  const s = effectiveSettings(loadScenario('mmio-gen-mini'), { mmioCaching: false });
  const m = 'mmio-check-ignores-update-in-progress';
  assert.equal(
    idleCheckNote(m, { executions: 3, mutantActedExecutions: 0 }, 'mmio-gen-mini', s),
    `--mutate ${m} never acted in this check (any of its 3 executions): nothing reached the place where it departs from the kernel (it is meant for mmio-gen-mini (mmioGenBits=1 mmioCaching=true); this check has mmioCaching=false: a setting may keep it from acting), so the verdict is the unmutated protocol's`,
  );
  assert.equal(idleCheckNote(m, { executions: 3, mutantActedExecutions: 1 }, 'mmio-gen-mini', s), null);
  // Left out (a stop at a violation) or no mutant: nothing said.
  assert.equal(idleCheckNote(m, { executions: 3 }, 'mmio-gen-mini', s), null);
  assert.equal(idleCheckNote(null, { executions: 3, mutantActedExecutions: 0 }, 'mmio-gen-mini', s), null);
  assert.deepEqual(cexMutantNote({ mutant: m, mutantActed: 2 }, null), { line: `mutant ${m} acted 2 times in this execution` });
  assert.equal(cexMutantNote({ mutant: null }, 'mmulab replay c.json'), null);
});

test('check --mutate that never acts (mmioCaching=false, a probe: it said "no violation", exit 0, and nothing else) warns on stderr and records summary.mutantActedExecutions 0; one that acts records how many executions it acted in and does not warn', async () => {
  const json = join(dir, 'idle-check.json');
  const m = 'mmio-check-ignores-update-in-progress';
  const r = await cli('check', 'mmio-gen-mini', '--mutate', m, '--set', 'mmioCaching=false', '--json', json, '--out', join(dir, 'idle-cex.json'));
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 2, r.stderr);
  // Before: the settings' note; after: what is known for sure.
  assert.match(
    lines[0]!,
    /^mmulab: warning: --mutate mmio-check-ignores-update-in-progress is meant for mmio-gen-mini \(mmioGenBits=1 mmioCaching=true\); this run has mmioCaching=false: /,
  );
  assert.match(
    lines[1]!,
    /^mmulab: warning: --mutate mmio-check-ignores-update-in-progress never acted in this check \(any of its \d+ executions\): .*this check has mmioCaching=false: a setting may keep it from acting\), so the verdict is the unmutated protocol's$/,
  );
  const idle = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(idle.summary.mutantActedExecutions, 0);
  assert.ok(idle.summary.executions > 0);
  // A mutant that acts in some executions without a violation (bound 0 keeps the race out of reach of the oracle).
  const acts = await cli(
    'check',
    'fault-vs-invalidation-mini',
    '--mutate',
    'invalidate-skip-tlb-flush',
    '--strategy',
    'dfs',
    '--preemption-bound',
    '0',
    '--json',
    json,
    '--out',
    join(dir, 'acts-cex.json'),
  );
  assert.equal(acts.code, 0, acts.stderr);
  assert.equal(acts.stderr, '');
  const a = JSON.parse(readFileSync(json, 'utf8'));
  assert.ok(a.summary.mutantActedExecutions > 0 && a.summary.mutantActedExecutions <= a.summary.executions, JSON.stringify(a.summary));
  // No mutant: no count.
  await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'dfs', '--preemption-bound', '0', '--json', json, '--out', join(dir, 'none-cex.json'));
  assert.equal('mutantActedExecutions' in JSON.parse(readFileSync(json, 'utf8')).summary, false);
});

test("check --mutate whose counterexample's execution never saw it act (mmio-sync-mini, the protocol's own finding, under mmio-gen-wrap-no-zap: a probe, reported under the mutant's name with nothing said) says the violation is the protocol's own; one where it acted says how often", async () => {
  const cex = join(dir, 'own-cex.json');
  const r = await captured(['check', 'mmio-sync-mini', '--mutate', 'mmio-gen-wrap-no-zap', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /mmulab: warning: --mutate mmio-gen-wrap-no-zap never acted in the counterexample's execution: the violation is the kernel protocol's own, not the mutant's \(replayed without the mutant: mmulab replay \S+own-cex\.json --without-mutant\)\n$/,
  );
  const file = JSON.parse(readFileSync(cex, 'utf8'));
  assert.equal(file.mutantActed, 0);
  // The file replays, its new key read.
  assert.equal((await cli('replay', cex, '--without-mutant')).code, 1);
  const acted = join(dir, 'acted-cex.json');
  const a = await captured(['check', 'mmio-gen-mini', '--mutate', 'mmio-check-ignores-update-in-progress', '--out', acted]);
  assert.equal(a.code, 1, a.stderr);
  assert.equal(a.stderr, '');
  assert.match(a.stdout, /\nmutant mmio-check-ignores-update-in-progress acted \d+ times? in this execution\n/);
  assert.ok(JSON.parse(readFileSync(acted, 'utf8')).mutantActed > 0);
});

test('mmulab merge of check parts whose mutant never acted warns as check does, and records their summed count 0', async () => {
  const args = [
    'mmio-gen-mini',
    '--mutate',
    'mmio-check-ignores-update-in-progress',
    '--set',
    'mmioCaching=false',
    '--strategy',
    'random',
    '--max-executions',
    '20',
  ];
  const parts = [0, 1].map((i) => join(dir, `idle-part${i}.json`));
  for (const [i, part] of parts.entries()) {
    const r = await cli('check', ...args, '--shard', `${i}/2`, '--json', part, '--out', join(dir, `idle-part${i}-cex.json`));
    assert.equal(r.code, 0, r.stderr);
  }
  const out = join(dir, 'idle-merged.json');
  const m = await cli('merge', parts[1]!, parts[0]!, '--json', out);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stderr, /^mmulab: warning: --mutate mmio-check-ignores-update-in-progress never acted in this check \(any of its 20 executions\): /);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).summary.mutantActedExecutions, 0);
});

test('the dirty-log mutants are judged by the flavour the run has after --set, not by the scenario name; a --set that took the feature away is named', () => {
  const note = (mutant: string, name: string, sets: string[]) => {
    const loaded = loadScenario(name);
    const { scenario, settings } = applySets(loaded, sets);
    const knobs = { loaded, sets: sets.filter((s) => s.startsWith('dirtyLog=') || s.startsWith('ringSize=')) };
    return mutantNote(mutant, name, [{ label: null, settings: effectiveSettings(scenario, settings) }], scenario, knobs);
  };
  // A ring world made a bitmap: KVM_GET_DIRTY_LOG's mutant acts there (no warning), the ring's says the --set.
  assert.equal(note('dirty-log-no-flush', 'dirty-ring-mini', ['dirtyLog=get']), null);
  assert.equal(note('fast-pf-no-mark-dirty', 'dirty-ring-mini', []), null);
  assert.equal(note('dirty-log-enable-no-flush', 'dirty-ring-mini', []), null);
  assert.match(
    note('dirty-ring-reset-no-flush', 'dirty-ring-mini', ['dirtyLog=get'])!,
    /; this run is dirty-ring-mini with --set dirtyLog=get, without a dirty log with dirty rings \(host\.dirtyLog\.mode ring\): /,
  );
  // dirty-log-mini made a ring: the bitmap harvest's mutant warns up front.
  assert.match(
    note('dirty-log-no-flush', 'dirty-log-mini', ['dirtyLog=ring'])!,
    /^--mutate dirty-log-no-flush is meant for dirty-log-mini; this run is dirty-log-mini with --set dirtyLog=ring, without a dirty bitmap KVM_GET_DIRTY_LOG write-protects /,
  );
  assert.match(
    note('dirty-log-enable-no-flush', 'dirty-log-mini', ['dirtyLog=manual-initially-set'])!,
    /with --set dirtyLog=manual-initially-set, without a dirty log whose enabling write-protects/,
  );
  // A world that never had the feature: no --set to name.
  assert.match(note('dirty-ring-no-soft-full-exit', 'dirty-log-mini', [])!, /; this run is dirty-log-mini, without a dirty log with dirty rings/);
});

test("idle mutant note on the scenario meant for the mutant: says these runs did not reach it, or the setting that differs, not 'it is meant for' the scenario run (a probe: '(it is meant for fault-vs-invalidation-mini)' on fault-vs-invalidation-mini)", async () => {
  const idle = [{ label: null, results: [{ mutantActed: 0 }] }];
  const mini = loadScenario('fault-vs-invalidation-mini');
  const note = idleMutantNote('fault-skip-range-check', idle, 'fault-vs-invalidation-mini', effectiveSettings(mini));
  assert.equal(
    note,
    "--mutate fault-skip-range-check never acted in this run: nothing reached the place where it departs from the kernel in the runs made (fault-vs-invalidation-mini, the scenario meant for it: other seeds or longer runs may reach it), so the results are the unmutated protocol's",
  );
  const off = idleMutantNote('fault-skip-range-check', idle, 'fault-vs-invalidation-mini', { ...effectiveSettings(mini), faultPrecheck: 'off' });
  assert.match(
    off ?? '',
    /departs from the kernel \(it is meant for fault-vs-invalidation-mini \(.*\); this run has faultPrecheck=off: a setting may keep it from acting\), so/,
  );
  // Elsewhere, as before.
  assert.match(idleMutantNote('fault-skip-range-check', idle, 'fault-during-invalidation') ?? '', /\(it is meant for fault-vs-invalidation-mini\), so/);
  // A sweep of it, as the probe ran it: said of the variants.
  const r = await cli(
    'sweep',
    'fault-vs-invalidation-mini',
    '--vary',
    'faultPrecheck=off,lockless',
    '--seeds',
    '2',
    '--workers',
    '0',
    '--mutate',
    'fault-skip-range-check',
  );
  assert.doesNotMatch(r.stderr, /it is meant for fault-vs-invalidation-mini\)/);
});
