import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { PctStrategy } from '../../src/check/pct.js';
import { factoryFor, factoryForScenario } from '../../src/cli/check-factory.js';
import { parseSetting } from '../../src/cli/overrides.js';
import { defaultSettings } from '../../src/kvm/settings.js';
import { assertStoryInOrder, captured, story } from '../cli/captured-cli.js';
import { Events, runWith, shortScenario } from '../report/fixtures.js';
import { tempDir } from '../temp-dir.js';

const MINI = 'mmio-sync-mini';
const dir = tempDir('mmulab-mmio-sync-');

test("settings: syncMmioSpte defaults to restamp (the kernel's sync_mmio_spte), takes zap", () => {
  assert.equal(defaultSettings().syncMmioSpte, 'restamp');
  assert.deepEqual(parseSetting('syncMmioSpte=zap'), ['syncMmioSpte', 'zap']);
  assert.throws(() => parseSetting('syncMmioSpte=drop'));
});

/** What the kernel protocol's counterexample must show, in order, before its => line. */
const SHOWS = [
  /vCPU0: install MMIO SPTE gfn 0x0 generation 0 in sp 3; write_unlock\(mmu_lock\)$/,
  /vmm: memslots generation := 1 \(update done\)$/,
  /vCPU0: kvm_unsync_page: sp 3 gfn 0x8000403 level 1 unsync, its gfn mapped writable$/,
  /vCPU0: kvm_set_cr3: CR3 0x8000400000 again/,
  /vCPU0: sync_mmio_spte: re-stamp MMIO SPTE gfn 0x0 generation 1 in sp 3 \(its guest PTE still maps the gfn; no memslot lookup\)$/,
  /vCPU0: VM-exit \(#PF intercepted: reserved bit, MMIO SPTE\)$/,
  /vCPU0: handle_mmio_page_fault gfn 0x0: MMIO SPTE generation 1, memslots 1: match, emulate as MMIO$/,
];

test(`check ${MINI} (the default, auto) on the kernel's protocol: stale-mmio, exit 1, the counterexample in order (MMIO SPTE, create, unsync, CR3 load, re-stamp, fast path); replay says the same, exit 1`, async () => {
  const cex = join(dir, 'restamp.json');
  const r = await captured(['check', MINI, '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assert.match(
    lines.at(-1)!,
    /^=> stale-mmio \(vCPU0\): vCPU0's MMIO fast path emulated gfn 0x0 \(MMIO SPTE generation 1, memslots generation 1\), but memslot 1 of those memslots holds it: /,
  );
  // The violation comes at the fast path that emulated.
  assertStoryInOrder(lines, SHOWS);
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
});

test(`check ${MINI} --set syncMmioSpte=zap: no violation, exhausted at the default bound 2 and the whole space (unbounded dfs)`, async () => {
  const r = await captured(['check', MINI, '--set', 'syncMmioSpte=zap']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^auto: [\d,]+ executions \(exhausted\)/);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
  const whole = explore(factoryFor(MINI, ['syncMmioSpte=zap'], null), new DfsStrategy({}), {});
  assert.equal(whole.violation, null);
  assert.equal(whole.summary.exhausted, true);
  // The kernel's protocol: the same search finds it.
  const kernel = explore(factoryFor(MINI, [], null), new DfsStrategy({}), {});
  assert.equal(kernel.violation?.kind, 'stale-mmio');
});

test(`run ${MINI} (seed 1, simulated): the sync re-stamps the MMIO SPTE after the create's final generation and the next read is emulated (stale-mmio); with zap it is dropped and the read maps the memslot`, () => {
  const s = shortScenario(MINI, 100_000_000);
  const kernel = new Events();
  const r = runWith(s, [kernel]);
  assert.equal(r.violations.length, 1);
  assert.equal(r.violations[0]!.kind, 'stale-mmio');
  const restamps = kernel.of('mmioSpteSet').filter((e) => e.by === 'sync_mmio_spte');
  assert.deepEqual(
    restamps.map((e) => [e.gfn, e.gen, e.inProgress]),
    [[0, 1, false]],
  );
  const zap = new Events();
  const z = runWith(s, [zap], { settings: { syncMmioSpte: 'zap' } });
  assert.equal(z.violations.length, 0);
  assert.equal(zap.of('mmioSpteSet').filter((e) => e.by === 'sync_mmio_spte').length, 0);
  assert.ok(
    zap.of('spteSet').some((e) => e.gfn === 0 && e.newPfn >= 0),
    'the read after the sync maps gfn 0',
  );
});

test(`run ${MINI} --ftrace: the sync's re-stamp prints as mark_mmio_spte with the new generation, after kvm_mmu_sync_page`, async () => {
  const out = join(dir, 'ftrace.txt');
  const r = await captured(['run', MINI, '--ftrace', out]);
  // A run that finds a violation exits 1.
  assert.equal(r.code, 1, r.stderr);
  const text = readFileSync(out, 'utf8');
  const sync = text.indexOf(' kvm_mmu_sync_page: ');
  const restamp = text.indexOf(' mark_mmio_spte: ', sync);
  assert.ok(sync >= 0 && restamp > sync, text);
  assert.match(text.slice(restamp), /^ mark_mmio_spte: +gfn 0 access 0 gen 1\n/);
});

test(`${MINI} with a memslot MOVE instead of the create: the same finding (a probe: an MMIO SPTE made in the move's KVM_MEMSLOT_INVALID window survives its flush, and the sync re-stamps it with the commit's generation); zap: none`, () => {
  const move = shortScenario(MINI, 100_000_000);
  move.vm.memslots = [
    { id: 0, baseGfn: 1, pages: 1 },
    { id: 1, baseGfn: 2, pages: 1 },
  ];
  move.host.memslotChanges = [{ atNs: 20_000, op: 'move', slot: 1, baseGfn: 0 }];
  // PCT, as the default check starts (unbounded DPOR is not there in 50,000).
  const kernel = explore(factoryForScenario(move, 'mmio-sync-mini (move)', [], null), new PctStrategy(1, 3), { maxExecutions: 20_000 });
  assert.equal(kernel.violation?.kind, 'stale-mmio');
  const zap = explore(factoryForScenario(move, 'mmio-sync-mini (move)', ['syncMmioSpte=zap'], null), new DfsStrategy({ preemptionBound: 2 }), {});
  assert.equal(zap.violation, null);
  assert.equal(zap.summary.exhausted, true);
});

test(`run ${MINI} --set syncMmioSpte=zap: the sync's drop of the MMIO SPTE is an ftrace line and a Perfetto instant`, async () => {
  const out = join(dir, 'zap.txt');
  const json = join(dir, 'zap.json');
  const r = await captured(['run', MINI, '--set', 'syncMmioSpte=zap', '--ftrace', out, '--trace', json]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(out, 'utf8');
  const sync = text.indexOf(' kvm_mmu_sync_page: ');
  const drop = text.indexOf(' mmulab_sync_mmio_spte_zap: ', sync);
  assert.ok(sync >= 0 && drop > sync, text);
  assert.match(text.slice(drop), /^ mmulab_sync_mmio_spte_zap: vcpu 0 gfn 0 spte-gen 0 sp \d+\n/);
  const events = (JSON.parse(readFileSync(json, 'utf8')) as { traceEvents: { name: string; args?: { event?: string; text?: string } }[] }).traceEvents;
  const instant = events.find((e) => e.args?.event === 'mmioSpteZap');
  // Named for its kind; what it did is its text arg.
  assert.ok(
    instant !== undefined &&
      instant.name === 'sync_mmio_spte: MMIO SPTE dropped' &&
      /^sync_mmio_spte \(syncMmioSpte=zap\): drop the MMIO SPTE of gfn 0x0 in sp \d+$/.test(instant.args?.text ?? ''),
    JSON.stringify(instant),
  );
  // The kernel's protocol's run has the shadow paging #PF's kvm_page_fault with U (0xd), at its exit.
  const kernel = join(dir, 'restamp.txt');
  await captured(['run', MINI, '--ftrace', kernel]);
  assert.match(readFileSync(kernel, 'utf8'), / error_code 0x0000000d\n.* kvm_page_fault: +vcpu 0 rip 0x0 address 0x0000000000000000 error_code 0xd\n/);
});
