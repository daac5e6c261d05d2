import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCounterexample } from '../../src/check/counterexample.js';
import { describeEvent } from '../../src/kvm/events.js';
import { fmtNs } from '../../src/report/duration.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { cli } from '../cli/in-process-cli.js';
import { counterexampleOf, printedSteps } from '../report/fixtures.js';
import { tempDir } from '../temp-dir.js';

test('events: host addresses print in bytes as the kernel prints an hva (the model keeps page numbers), gfns and pfns as page numbers', () => {
  assert.equal(describeEvent({ e: 'invalidateRangeStart', kind: 'reclaim', hvaStart: 1, hvaEnd: 3 }), 'reclaim: invalidate_range_start [0x1000,0x3000)');
  assert.equal(describeEvent({ e: 'gup', vcpu: 1, gfn: 2, hva: 0x3f8000000, pfn: 0x11 }), 'gfn 0x2: hva 0x3f8000000000 → pfn 0x11 (get_user_pages)');
  assert.equal(
    describeEvent({ e: 'hostPteChange', hva: 2, oldPfn: 0x11, newPfn: -1, kind: 'reclaim' }),
    'reclaim: host PTE hva 0x2000 unmapped (was pfn 0x11)',
  );
});

test('events: a fault is named by how it left the guest (an EPT violation under TDP, an intercepted #PF under shadow paging), not always an EPT violation', () => {
  assert.equal(describeEvent({ e: 'vmExit', vcpu: 0, reason: 'ept-violation' }), 'VM-exit (EPT violation)');
  assert.equal(describeEvent({ e: 'vmExit', vcpu: 0, reason: 'pf-intercept' }), 'VM-exit (#PF intercepted)');
  assert.equal(describeEvent({ e: 'vmExit', vcpu: 0, reason: 'write-protect' }), 'VM-exit (#PF intercepted: write to a write-protected SPTE)');
  assert.equal(describeEvent({ e: 'faultBegin', vcpu: 0, gfn: 2, write: true, refault: false }), 'page fault on gfn 0x2 (write)');
});

test('events: a counterexample under shadow paging (memslot-delete-mini) prints its faults as intercepted #PFs; one under TDP (fault-vs-invalidation-mini) as EPT violations', () => {
  const exits = (scenario: string, mutant: string) => printedSteps(counterexampleOf(scenario, mutant)).filter(([, , text]) => text.startsWith('VM-exit ('));
  const shadow = exits('memslot-delete-mini', 'zap-fast-no-generation-bump');
  assert.ok(
    shadow.some(([, , t]) => t === 'VM-exit (#PF intercepted)'),
    JSON.stringify(shadow),
  );
  assert.ok(!shadow.some(([, , t]) => t.includes('EPT')), JSON.stringify(shadow));
  const tdp = exits('fault-vs-invalidation-mini', 'fault-skip-range-check');
  assert.ok(tdp.some(([, , t]) => t === 'VM-exit (EPT violation)') && !tdp.some(([, , t]) => t.includes('#PF')), JSON.stringify(tdp));
});

test('events: a use after free found by the checker is not dated by a thread-local clock (each thread keeps its own there); the free is its own printed step', async () => {
  const out = join(tempDir('events-'), 'cex.json');
  const { code } = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', out);
  assert.equal(code, 1);
  const cex = parseCounterexample(JSON.parse(readFileSync(out, 'utf8')));
  assert.match(
    cex.violation.message,
    /: migrate unmapped pfn 0x1000 while vCPU0 held the reference get_user_pages took: the kernel's migration would find that reference and back off, mapping the old page back; the model freed it at once to expose the use \(docs/,
  );
  assert.doesNotMatch(cex.violation.message, / at \d+ ?(ns|µs|ms)/);
  assert.ok(
    printedSteps(cex).some(([, , t]) => /^free pfn /.test(t)),
    'the free is printed',
  );
});

test('events: a simulated run\'s violation dates the free in the format every output prints durations in (fmtNs), its JSON time numeric (a probe: "which apic-migrate unmapped at 153755 ns" where the run printed "at 154µs")', () => {
  const s = loadScenario('apic-page-reload');
  const r = simulate(s, { settings: effectiveSettings(s), mutant: 'apic-reload-no-retry', seed: 1 });
  const v = r.violations[0]!;
  assert.equal(typeof v.timeNs, 'number');
  const at = / which apic-migrate unmapped at (\S+) while /.exec(v.message);
  assert.ok(at, v.message);
  assert.equal(at[1], fmtNs(153_755));
  assert.doesNotMatch(v.message, /\d ns\b/);
});

test("listens: the checker's exploring instances read no root or memslot story events, so those are not built; an instance with its step log reads them all", () => {
  const scenario = loadScenario('cached-roots-mini');
  const settings = effectiveSettings(scenario);
  const exploring = createInstance(scenario, { settings, mutant: null, log: false, metrics: false });
  assert.equal(exploring.kvm.listens('newPgd'), false);
  assert.equal(exploring.kvm.listens('freeObsoleteRoots'), false);
  for (const e of ['cr3Write', 'spUnsync', 'spSync', 'spFound', 'spZapInvalid', 'injException'] as const) assert.equal(exploring.kvm.listens(e), false, e);
  assert.equal(exploring.kvm.listens('guestAccess'), true, 'the oracle checks accesses');
  const logged = createInstance(scenario, { settings, mutant: null, log: true, metrics: false });
  assert.equal(logged.kvm.listens('newPgd'), true);
  assert.equal(logged.kvm.listens('freeObsoleteRoots'), true);
  for (const e of ['cr3Write', 'spUnsync', 'spSync', 'spFound', 'spZapInvalid', 'injException'] as const) assert.equal(logged.kvm.listens(e), true, e);
});

test("listens: the new story events (the APIC-access reload's check, kvm_mmu_track_write, a resumed zap walk, is_page_fault_stale, a mutant's act) are built only for a step log or trace, not for the exploring checker", () => {
  const scenario = loadScenario('table-reuse-mini');
  const settings = effectiveSettings(scenario);
  const exploring = createInstance(scenario, { settings, mutant: null, log: false, metrics: false });
  const logged = createInstance(scenario, { settings, mutant: null, log: true, metrics: false });
  for (const e of ['apicRetryCheck', 'trackWrite', 'zapResumed', 'staleCheck', 'mutantActed'] as const) {
    assert.equal(exploring.kvm.listens(e), false, e);
    assert.equal(logged.kvm.listens(e), true, e);
  }
});

test('events: is_page_fault_stale says what it looked at: the root alone for a fault on no memslot, the root first (an obsolete one ends it), else the invalidation state against the snapshot', () => {
  const base = { e: 'staleCheck', vcpu: 0, gfn: 1, skipped: false, inProgress: 0, rangeStart: 0, rangeEnd: 0, seq: 2, snapshot: 2, root: 3 } as const;
  assert.equal(
    describeEvent({ ...base, stale: false, rootObsolete: false, noSlot: true }),
    'is_page_fault_stale gfn 0x1 (no memslot: only the root is checked): root 3 not obsolete: not stale',
  );
  assert.equal(describeEvent({ ...base, stale: true, rootObsolete: true, noSlot: false }), 'is_page_fault_stale gfn 0x1: root 3 obsolete: stale: retry');
  assert.equal(describeEvent({ ...base, root: -1, stale: true, rootObsolete: true, noSlot: true }), 'is_page_fault_stale gfn 0x1: no root: stale: retry');
  assert.equal(
    describeEvent({ ...base, stale: false, rootObsolete: false, noSlot: false }),
    'is_page_fault_stale gfn 0x1 (mmu_invalidate_in_progress=0, mmu_invalidate_seq=2, snapshot 2): not stale',
  );
});

test("events: a shadow page made or found is named by the function that asks for it since v6.0's split of kvm_mmu_get_page, a root by mmu_alloc_root's kvm_mmu_get_shadow_page, a page below it by FNAME(fetch)'s kvm_mmu_get_child_sp (the tracepoint keeps the old name, and so does --ftrace)", () => {
  assert.equal(
    describeEvent({ e: 'spCreate', sp: 0, gfn: 0x8000400, level: 4, direct: false, gen: 0 }),
    'kvm_mmu_get_shadow_page (from mmu_alloc_root): sp 0 gfn 0x8000400 level 4 gen 0',
  );
  assert.equal(
    describeEvent({ e: 'spCreate', sp: 3, gfn: 0x8000403, level: 1, direct: false, gen: 1 }),
    'kvm_mmu_get_child_sp (from FNAME(fetch)): sp 3 gfn 0x8000403 level 1 gen 1',
  );
  assert.equal(
    describeEvent({ e: 'spFound', sp: 0, gfn: 0x8000400, level: 4, gen: 0, unsync: false, synced: false }),
    'kvm_mmu_get_shadow_page (from mmu_alloc_root): sp 0 gfn 0x8000400 level 4 gen 0 existing',
  );
  // In a counterexample: the root from the vCPU's kvm_mmu_load, the others from its fault's walk.
  const steps = printedSteps(counterexampleOf('memslot-delete-mini', 'zap-fast-no-generation-bump'));
  const made = steps.filter(([, , t]) => / sp \d+ gfn /.test(t) && !t.startsWith('kvm_mmu_prepare_zap_page'));
  assert.ok(made.length > 0);
  for (const [n, , t] of made) {
    assert.doesNotMatch(t, /kvm_mmu_get_page/, `line ${n}`);
    assert.match(
      t,
      / level 4 /.test(t) ? /^kvm_mmu_get_shadow_page \(from mmu_alloc_root\): / : /^kvm_mmu_get_child_sp \(from FNAME\(fetch\)\): /,
      `line ${n}: ${t}`,
    );
  }
});

test("a mutant's act is an event only where a sink reads it: the exploring checker's instance of memslot-delete-mini under zap-fast-no-generation-bump has no onAct, the one with a step log has", () => {
  const scenario = loadScenario('memslot-delete-mini');
  const settings = effectiveSettings(scenario);
  const mutant = 'zap-fast-no-generation-bump';
  assert.equal(createInstance(scenario, { settings, mutant, log: false, metrics: false }).kvm.mutation.onAct, null);
  assert.notEqual(createInstance(scenario, { settings, mutant, log: true, metrics: false }).kvm.mutation.onAct, null);
  // A mutant whose own event says it acted has none either way.
  assert.equal(
    createInstance(loadScenario('fault-vs-invalidation-mini'), {
      settings: effectiveSettings(loadScenario('fault-vs-invalidation-mini')),
      mutant: 'fault-skip-range-check',
      log: true,
      metrics: false,
    }).kvm.mutation.onAct,
    null,
  );
});
