import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { factoryFor } from '../../src/cli/check-factory.js';
import { parseSetting } from '../../src/cli/overrides.js';
import type { KvmEvent } from '../../src/kvm/events.js';
import type { Kvm } from '../../src/kvm/kvm.js';
import { Memslots } from '../../src/kvm/memslots.js';
import { isMmioSpte, MMIO_SPTE_GEN_BITS, makeMmioSpte, mmioSpte, mmioSpteGen, NO_SPTE } from '../../src/kvm/mmio-spte.js';
import { MUTANTS } from '../../src/kvm/mutants.js';
import { TablePool } from '../../src/kvm/page-table.js';
import { defaultSettings } from '../../src/kvm/settings.js';
import { assertStoryInOrder, captured, story } from '../cli/captured-cli.js';
import { Events, runWith, shortScenario } from '../report/fixtures.js';
import { tempDir } from '../temp-dir.js';

const MINI = 'mmio-gen-mini';
const dir = tempDir('mmulab-mmio-gen-');

function simulated(settings: Record<string, unknown> = {}, mutant: string | null = null): Events {
  const sink = new Events();
  runWith(shortScenario(MINI, 100_000_000), [sink], { settings, mutant });
  return sink;
}

test('MMIO SPTE encoding: negative, so walks keep `>= 0` as their test for a pfn; the page tables keep and return it, zaps of present leaves pass it by', () => {
  for (const gen of [0, 1, 2 ** MMIO_SPTE_GEN_BITS - 1]) {
    const s = mmioSpte(gen);
    assert.ok(s < NO_SPTE && isMmioSpte(s));
    assert.equal(mmioSpteGen(s), gen);
  }
  assert.ok(!isMmioSpte(NO_SPTE) && !isMmioSpte(0));
  const pool = new TablePool();
  const root = pool.alloc();
  assert.equal(pool.setMmio(root, 5, mmioSpte(3)), NO_SPTE);
  assert.equal(pool.lookup(root, 5), mmioSpte(3));
  // A leaf scan finds it only when asked to (a root's zap), not as a present leaf (the oracle's and the notifier's).
  assert.equal(pool.nextPresent(root, 0, 100), -1);
  assert.equal(pool.nextPresent(root, 5, 6), -1);
  assert.equal(pool.nextPresent(root, 0, 100, true), 5);
  assert.equal(pool.nextPresent(root, 5, 6, true), 5);
  // A real mapping replaces it, and says what was there.
  assert.equal(pool.set(root, 5, 7), mmioSpte(3));
  assert.equal(pool.lookup(root, 5), 7);
  assert.equal(pool.set(root, 5, -1), 7);
  assert.equal(pool.lookup(root, 5), NO_SPTE);
  pool.dispose();
});

test('memslots generation: a swap publishes the next set with the old generation and the update-in-progress bit; an MMIO SPTE keeps the masked generation, never the bit', () => {
  const old = new Memslots([], 6);
  assert.equal(old.updateInProgress, false);
  const next = old.with([{ id: 1, baseGfn: 1, npages: 1, hvaPage: 0, flags: 0 }]);
  assert.equal(next.generation, 6);
  assert.equal(next.updateInProgress, true);
  const kvm = (memslots: Memslots, mmioGenBits: number) => ({ memslots, settings: { ...defaultSettings(), mmioGenBits } }) as unknown as Kvm;
  assert.equal(mmioSpteGen(makeMmioSpte(kvm(next, 19))), 6);
  assert.equal(mmioSpteGen(makeMmioSpte(kvm(next, 2))), 2);
  assert.equal(mmioSpteGen(makeMmioSpte(kvm(new Memslots([], 8), 2))), 0);
});

test('settings: mmioCaching defaults to true (enable_mmio_caching), mmioGenBits to the kernel 19; mmioGenBits takes 1 to 19', () => {
  assert.equal(defaultSettings().mmioCaching, true);
  assert.equal(defaultSettings().mmioGenBits, 19);
  assert.deepEqual(parseSetting('mmioCaching=false'), ['mmioCaching', false]);
  assert.deepEqual(parseSetting('mmioGenBits=1'), ['mmioGenBits', 1]);
  for (const bad of ['0', '20']) assert.throws(() => parseSetting(`mmioGenBits=${bad}`), /expects an integer from 1 to 19/);
});

test(`${MINI} (seed 1, simulated): the swap publishes in progress and stores each final generation after; the second create's generation 2 wraps the 1-bit MMIO generation: one fast zap, none at 19 bits`, () => {
  const ev = simulated();
  assert.deepEqual(
    ev.of('memslotsPublish').map((e) => [e.generation, e.inProgress]),
    [
      [0, true],
      [1, true],
    ],
  );
  assert.deepEqual(
    ev.of('memslotsGeneration').map((e) => e.generation),
    [1, 2],
  );
  const zaps = ev.of('zapAllBegin').filter((e) => e.how === 'kvm_mmu_zap_all_fast');
  assert.equal(zaps.length, 1);
  // The zap comes before the final generation 2 is stored.
  const at = (x: KvmEvent) => ev.seen.indexOf(x);
  assert.ok(at(zaps[0]!) < at(ev.of('memslotsGeneration')[1]!));
  assert.equal(simulated({ mmioGenBits: 19 }).of('zapAllBegin').length, 0);
});

test(`${MINI} with mmioCaching=false is the model before MMIO SPTEs: no MMIO SPTE, every fault on the gfn while it has no memslot emulated at once; the mutants have nothing to break`, () => {
  const on = simulated({ mmioGenBits: 19 });
  assert.ok(on.of('mmioSpteSet').length > 0 || on.of('faultEnd').every((e) => e.ret !== 'emulate'));
  for (const settings of [{}, { mmu: 'shadow' }]) {
    const off = simulated({ ...settings, mmioCaching: false });
    assert.equal(off.of('mmioSpteSet').length + off.of('mmioCheck').length, 0);
    for (const e of off.of('vmExit')) assert.ok(e.reason !== 'ept-misconfig' && e.reason !== 'pf-rsvd');
  }
  for (const m of MUTANTS.filter((x) => x.scenario === MINI)) {
    const r = explore(factoryFor(MINI, ['mmioCaching=false'], m.name), new DfsStrategy({ preemptionBound: 2 }), {});
    assert.equal(r.violation, null, m.name);
    assert.equal(r.summary.exhausted, true, m.name);
  }
});

test(`check ${MINI}: no violation, the whole space exhausted (unbounded dfs), under TDP and under shadow paging's bound 2 (the kernel's protocol cannot trip stale-mmio)`, () => {
  const tdp = explore(factoryFor(MINI, [], null), new DfsStrategy({}), {});
  assert.equal(tdp.violation, null);
  assert.equal(tdp.summary.exhausted, true);
  const shadow = explore(factoryFor(MINI, ['mmu=shadow'], null), new DfsStrategy({ preemptionBound: 2 }), {});
  assert.equal(shadow.violation, null);
  assert.equal(shadow.summary.exhausted, true);
});

test(`check ${MINI} (the default, auto): exit 0, exhausted at bound 2`, async () => {
  const r = await captured(['check', MINI]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^auto: [\d,]+ executions \(exhausted\)/);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
});

/** What each mutant's counterexample must show, before its => line. */
const SHOWS: Record<string, RegExp[]> = {
  'mmio-check-ignores-update-in-progress': [
    /vmm: publish memslots generation 0 \(update in progress\): memslot 1 added$/,
    /vCPU0: handle_mmio_page_fault gfn 0x1: MMIO SPTE generation 0, memslots 0 \(update in progress\): match, emulate as MMIO$/,
  ],
  'memslot-gen-no-update-in-progress': [
    /vmm: publish memslots generation 1: memslot 1 added$/,
    /vCPU0: (.*; )?install MMIO SPTE gfn 0x1 generation 1 in root 0/,
    /vCPU0: handle_mmio_page_fault gfn 0x1: MMIO SPTE generation 1, memslots 1: match, emulate as MMIO$/,
  ],
  'mmio-gen-wrap-no-zap': [
    /vCPU0: (.*; )?install MMIO SPTE gfn 0x1 generation 0 in root 0/,
    /vmm: memslots generation := 2 \(update done\)$/,
    /vCPU0: handle_mmio_page_fault gfn 0x1: MMIO SPTE generation 0, memslots 2 \(0 in the SPTE's bits\): match, emulate as MMIO$/,
  ],
};

for (const m of MUTANTS.filter((x) => x.scenario === MINI)) {
  test(`check ${MINI} --mutate ${m.name} (the default, auto): stale-mmio, exit 1, the counterexample in order; replay says the same, exit 1`, async () => {
    const cex = join(dir, `${m.name}.json`);
    const r = await captured(['check', MINI, '--mutate', m.name, '--out', cex]);
    assert.equal(r.code, 1, r.stderr);
    const lines = story(r.stdout);
    assert.match(lines.at(-1)!, /^=> stale-mmio \(vCPU0\): vCPU0's MMIO fast path emulated gfn 0x1 \(.*\), but memslot 1 of those memslots holds it: /);
    // The violation comes at the fast path that emulated.
    assertStoryInOrder(lines, SHOWS[m.name]!);
    const replay = await captured(['replay', cex]);
    assert.equal(replay.code, 1, replay.stderr);
    assert.deepEqual(story(replay.stdout), lines);
  });
}

test(`check ${MINI} --set mmu=shadow: each mutant is found too (stale-mmio), an access to the MMIO SPTE exiting as a #PF with a reserved bit`, async () => {
  for (const m of MUTANTS.filter((x) => x.scenario === MINI)) {
    const r = await captured(['check', MINI, '--set', 'mmu=shadow', '--mutate', m.name]);
    assert.equal(r.code, 1, `${m.name}: ${r.stderr}`);
    const lines = story(r.stdout);
    assert.match(lines.at(-1)!, /^=> stale-mmio \(vCPU0\): /, m.name);
    assert.ok(
      lines.some((l) => l.endsWith('VM-exit (#PF intercepted: reserved bit, MMIO SPTE)')),
      lines.join('\n'),
    );
  }
});

test(`run ${MINI} --ftrace: the MMIO SPTE (mark_mmio_spte), the exit (EPT_MISCONFIG) and the fast path's check`, async () => {
  const out = join(dir, 'ftrace.txt');
  const r = await captured(['run', MINI, '--set', 'mmioGenBits=19', '--ftrace', out]);
  assert.equal(r.code, 0, r.stderr);
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(out, 'utf8');
  assert.match(text, / mark_mmio_spte: +gfn 1 access 0 gen 0\n/);
  assert.match(text, / kvm_exit: +vcpu 0 reason EPT_MISCONFIG /);
  // Simulated, the read after the first create's publish meets the update in progress (the race the bit is for).
  assert.match(text, / mmulab_check_mmio_spte: +vcpu 0 gfn 1 update_in_progress spte-gen 0 valid 0\n/);
});

test(`run ${MINI} --ftrace: as the kernel traces the MMIO exits (no kvm_page_fault after EPT_MISCONFIG; a #PF's before the check, with U), the memslots generation, the wrap's reason`, async () => {
  const { readFileSync } = await import('node:fs');
  const trace = async (name: string, ...set: string[]) => {
    const out = join(dir, name);
    const r = await captured(['run', ...set, '--ftrace', out]);
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(out, 'utf8');
  };
  const tdp = await trace('tdp.txt', MINI);
  // handle_ept_misconfig calls kvm_mmu_page_fault with PFERR_RSVD_MASK: no kvm_page_fault, even when the check sends it down the full fault.
  const exit = tdp.indexOf('reason EPT_MISCONFIG');
  const done = tdp.indexOf(' mmulab_page_fault_done:', exit);
  assert.ok(exit >= 0 && done > exit, tdp);
  assert.doesNotMatch(tdp.slice(exit, done), / kvm_page_fault: /);
  // The swap's publish with the update-in-progress bit and its final store; the wrap says why before its fast zap.
  assert.match(tdp, / mmulab_memslots_publish: generation 0 update_in_progress 1\n/);
  assert.match(tdp, / mmulab_memslots_generation: generation 1 update_in_progress 0\n/);
  assert.match(tdp, / mmulab_mmio_gen_wrap: generation 2: zapping shadow pages for mmio generation wraparound\n.* kvm_mmu_zap_all_fast: /);
  const shadow = await trace('shadow.txt', MINI, '--set', 'mmu=shadow');
  // kvm_handle_page_fault: kvm_page_fault with the hardware error code (P|U|RSVD for a user read), right after the exit, before the check; none after it.
  assert.match(
    shadow,
    / kvm_exit: +vcpu 0 reason EXCEPTION_NMI rip 0x0 info1 0x0000000000001000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x0000000d\n.* kvm_page_fault: +vcpu 0 rip 0x0 address 0x0000000000001000 error_code 0xd\n.* mmulab_check_mmio_spte: /,
  );
  const check = shadow.indexOf(' mmulab_check_mmio_spte: ');
  assert.doesNotMatch(shadow.slice(check, shadow.indexOf(' mmulab_page_fault_done:', check)), / kvm_page_fault: /);
  // handle_mmio_page_fault traces addr 0 for a direct MMU (TDP).
  const direct = await trace('direct.txt', 'memslot-delete-mini', '--set', 'mmu=tdp');
  assert.match(direct, / handle_mmio_page_fault: addr:0 gfn 6 access 0\n/);
  assert.doesNotMatch(direct, /handle_mmio_page_fault: addr:[1-9a-f]/);
});

test("memslot-delete-mini (seed 1, simulated): the deleted memslot's gfns become MMIO SPTEs, and the fast path's emulations count as accesses done, as the faults they replace did (32 accesses; 18 emulations: with MMIO caching 9 faults that ended RET_PF_EMULATE and 9 fast-path hits, mmio.fastPath, which are no faults; without, 18 emulated faults)", () => {
  const s = shortScenario('memslot-delete-mini', 100_000_000);
  const on = new Events();
  const withCache = runWith(s, [on]);
  const without = runWith(s, [], { settings: { mmioCaching: false } });
  const fast = on.of('mmioCheck').filter((e) => e.match).length;
  assert.ok(on.of('mmioSpteSet').length > 0 && fast > 0, `${fast} fast-path emulations`);
  for (const r of [withCache, without]) {
    assert.equal(r.metrics.guest.accesses, 32);
    assert.equal(r.metrics.faults.emulated + r.metrics.mmio.fastPath, 18);
  }
  assert.equal(withCache.metrics.mmio.fastPath, fast);
  assert.equal(withCache.metrics.faults.emulated, 9);
  assert.equal(without.metrics.mmio.fastPath, 0);
  // The fast path's emulations are no faults.
  assert.equal(withCache.metrics.faults.total, without.metrics.faults.total - fast);
});
