import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSetting } from '../../src/cli/overrides.js';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import { defaultSettings, type Settings } from '../../src/kvm/settings.js';
import type { ShadowPage } from '../../src/kvm/shadow-page.js';
import {
  KVM_MIN_ALLOC_MMU_PAGES,
  KVM_MIN_FREE_MMU_PAGES,
  KVM_REFILL_PAGES,
  kvmMmuDefaultMmuPages,
  kvmMmuZapOldestMmuPages,
  makeMmuPagesAvailable,
} from '../../src/kvm/shadow-reclaim.js';
import { FtraceSink } from '../../src/report/ftrace.js';
import { InputError } from '../../src/scenario/input-error.js';
import { parseScenario } from '../../src/scenario/load.js';
import { assertStoryInOrder, captured, story } from '../cli/captured-cli.js';
import { runWith, shortScenario } from '../report/fixtures.js';
import { tempDir } from '../temp-dir.js';
import { pagesOnWalk, runAlone, shadowVm, underMmuLock } from './shadow-harness.js';

const MINI = 'mmu-pages-reclaim-mini';
const dir = tempDir('mmulab-shadow-reclaim-');

/** Records the reclaim's events. */
class Recorder implements Sink {
  readonly events: KvmEvent[] = [];
  on(ev: KvmEvent, _at: EventStamp): void {
    if (ev.e === 'spZap' || ev.e === 'shadowReclaim' || ev.e === 'remoteFlushBegin' || ev.e === 'spFree') this.events.push({ ...ev });
  }
  of<K extends KvmEvent['e']>(e: K): Extract<KvmEvent, { e: K }>[] {
    return this.events.filter((x): x is Extract<KvmEvent, { e: K }> => x.e === e);
  }
}

/** active_mmu_pages from the oldest end. */
function oldestFirst(mmu: { active: { tail: ShadowPage | null } }): ShadowPage[] {
  const out: ShadowPage[] = [];
  for (let sp = mmu.active.tail; sp !== null; sp = sp.newer) out.push(sp);
  return out;
}

test('kvm_mmu_zap_oldest_mmu_pages: zaps from the oldest end, passes the roots by, stops once it has at least what was asked, commits once (one remote flush) and takes the pages off n_used_mmu_pages', () => {
  // Two vCPUs, 8 pages touched each: 22 pages, the two roots among them.
  const { inst, kvm, mmu } = shadowVm({ vcpus: 2, processes: 1, warm: 8 });
  const before = oldestFirst(mmu);
  assert.equal(mmu.nUsedMmuPages, 22);
  assert.ok(before[0]!.rootCount > 0, 'the oldest page is vCPU0 root: the walk must pass it by');
  const rec = new Recorder();
  kvm.subscribe(rec);
  let zapped = -1;
  underMmuLock(inst, function* () {
    zapped = yield* kvmMmuZapOldestMmuPages(mmu, 5);
  });
  const expected = before.filter((sp) => sp.rootCount === 0).slice(0, 5);
  assert.equal(zapped, 5);
  assert.deepEqual(
    rec.of('spZap').map((e) => e.sp),
    expected.map((sp) => sp.id),
  );
  assert.ok(
    expected.every((sp) => sp.freed),
    'committed: freed',
  );
  assert.ok(
    before.filter((sp) => sp.rootCount > 0).every((sp) => !sp.invalid && sp.onActiveList),
    'roots untouched',
  );
  assert.equal(mmu.nUsedMmuPages, 17);
  assert.deepEqual(
    rec.of('remoteFlushBegin').map((e) => e.reason),
    ['kvm_mmu_commit_zap_page'],
  );
  assert.deepEqual(rec.of('shadowReclaim'), [{ e: 'shadowReclaim', wanted: 5, zapped: 5, used: 17, max: kvmMmuDefaultMmuPages(kvm.memslots), flush: true }]);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('make_mmu_pages_available: nothing while KVM_MIN_FREE_MMU_PAGES are available; below, a fault zaps the oldest non-root pages toward KVM_REFILL_PAGES free, flushes, and maps; roots stay', () => {
  assert.equal(KVM_MIN_FREE_MMU_PAGES, 5);
  assert.equal(KVM_REFILL_PAGES, 25);
  // The default limit: no reclaim in a world this small.
  const auto = shadowVm({ vcpus: 2, processes: 1, warm: 8 });
  const quiet = new Recorder();
  auto.kvm.subscribe(quiet);
  runAlone(auto.inst, function* () {
    yield* kvmMmuPageFault(auto.kvm.vcpus[0]!, 0, false);
  });
  assert.deepEqual(quiet.of('shadowReclaim'), []);
  // 24 pages at most, 22 used: 2 available, so the fault asks for 25 - 2 = 23.
  // The limit comes after the warm start (which would have reclaimed under it): as a KVM_SET_NR_MMU_PAGES above n_used_mmu_pages sets it.
  const { inst, kvm, mmu } = shadowVm({ vcpus: 2, processes: 1, warm: 8 });
  (kvm.settings as Settings).maxMmuPages = 24;
  assert.equal(mmu.nUsedMmuPages, 22);
  const roots = oldestFirst(mmu).filter((sp) => sp.rootCount > 0);
  const rec = new Recorder();
  kvm.subscribe(rec);
  let ret = '';
  runAlone(inst, function* () {
    ret = yield* kvmMmuPageFault(kvm.vcpus[0]!, 0, false);
  });
  assert.equal(ret, 'fixed');
  // Only 20 pages are not roots: all go, fewer than asked (the kernel is content with one free).
  const [reclaim] = rec.of('shadowReclaim');
  assert.deepEqual(reclaim, { e: 'shadowReclaim', wanted: 23, zapped: 20, used: 2, max: 24, flush: true });
  assert.equal(rec.of('spZap').length, 20);
  assert.ok(roots.every((sp) => !sp.invalid && !sp.freed));
  // The fault made its walk's three tables again.
  assert.equal(mmu.nUsedMmuPages, 5);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('make_mmu_pages_available with every page in use a root: -ENOSPC, said as bad input (maxMmuPages below the roots the vCPUs hold)', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 2, processes: 1, warm: 0, settings: { maxMmuPages: 1 } });
  runAlone(inst, () => mmu.reloadRoot(kvm.vcpus[0]!));
  assert.equal(mmu.nUsedMmuPages, 1);
  assert.throws(
    () =>
      underMmuLock(inst, function* () {
        yield* makeMmuPagesAvailable(mmu, kvm.vcpus[1]!);
      }),
    (e: unknown) =>
      e instanceof InputError &&
      /^settings\.maxMmuPages 1: the 1 shadow page in use is a root, which .* fails with -ENOSPC and vCPU1's KVM_RUN fails; expected /.test(e.message),
  );
});

test("maxMmuPages: defaults to auto, the kernel's sizing (1/50 of the memslots' pages, at least 64); --set and scenarios take auto or an integer from 1, and refuse others with one line", async () => {
  assert.equal(defaultSettings().maxMmuPages, 'auto');
  const { kvm } = shadowVm({ vcpus: 1 });
  // 65,536 + 4,096 pages in the harness's memslots.
  assert.equal(kvmMmuDefaultMmuPages(kvm.memslots), Math.floor(69_632 / 50));
  assert.equal(kvmMmuDefaultMmuPages({ slots: [{ npages: 16 }] } as never), KVM_MIN_ALLOC_MMU_PAGES);
  assert.deepEqual(parseSetting('maxMmuPages=auto'), ['maxMmuPages', 'auto']);
  assert.deepEqual(parseSetting('maxMmuPages=9'), ['maxMmuPages', 9]);
  for (const bad of ['0', '-1', 'x', '1000001', '']) {
    assert.throws(
      () => parseSetting(`maxMmuPages=${bad}`),
      (e: unknown) => e instanceof InputError && e.message === `--set maxMmuPages=${bad}: maxMmuPages expects auto or an integer from 1 to 1000000`,
    );
  }
  const yaml = (v: string) =>
    `vm:\n  vcpus: 1\n  memslots:\n    - { id: 0, baseGfn: 0, pages: 4 }\nworkload:\n  gfnCount: 4\nsettings:\n  mmu: shadow\n  maxMmuPages: ${v}\n`;
  assert.equal(parseScenario(yaml('7'), 's.yaml').settings.maxMmuPages, 7);
  assert.equal(parseScenario(yaml('auto'), 's.yaml').settings.maxMmuPages, 'auto');
  assert.throws(() => parseScenario(yaml('0'), 's.yaml'), /settings\.maxMmuPages/);
  assert.throws(() => parseScenario(yaml('many'), 's.yaml'), /settings\.maxMmuPages/);
  const r = await captured(['run', MINI, '--set', 'maxMmuPages=0']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'mmulab: --set maxMmuPages=0: maxMmuPages expects auto or an integer from 1 to 1000000\n');
});

test(`check ${MINI} (the default, auto, bound 2) on the kernel's protocol: exhausted, no violation (11,902 executions when written)`, async () => {
  const r = await captured(['check', MINI]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^auto: [\d,]+ executions \(exhausted\)/);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
});

/** What the mutant's counterexample must show, in order, before its => line. */
const SHOWS = [
  /vCPU0: install SPTE gfn 0x0 → pfn 0x1000 in sp \d+; write_unlock\(mmu_lock\)$/,
  /vCPU1: kvm_mmu_prepare_zap_page: sp \d+ gfn 0x\w+ level 1$/,
  /vCPU1: zap SPTE gfn 0x0 \(was pfn 0x1000\) in sp \d+$/,
  /vCPU1: kvm_mmu_zap_oldest_mmu_pages: 3 oldest page\(s\) zapped of 21 wanted .* commit frees without a remote TLB flush \(the mutant's\)$/,
  /migrate: invalidate_range_start returns$/,
];

test(`check ${MINI} --mutate zap-oldest-no-flush: stale-translation (vCPU0's TLB keeps gfn 0's old page after the host's invalidation found no SPTE), exit 1, the mutant acted; replay prints the same interleaving`, async () => {
  const cex = join(dir, 'no-flush.json');
  const r = await captured(['check', MINI, '--mutate', 'zap-oldest-no-flush', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assert.match(lines.at(-1)!, /^=> stale-translation \(migrate\): .*vCPU0's TLB still maps gfn 0x0 → pfn 0x1000/);
  assertStoryInOrder(lines, SHOWS);
  assert.match(r.stdout, /mutant zap-oldest-no-flush acted 1 time in this execution/);
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
});

test('kvm_mmu_zap_oldest_mmu_pages: a page zapped with its unsync level-1 child takes the child along (counted toward what was asked), and the walk starts again from the oldest end (list_unstable)', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, processes: 2, warm: 1 });
  const v = kvm.vcpus[0]!;
  const walk = pagesOnWalk(mmu, v);
  const [root, l3, l2, l1] = walk as [ShadowPage, ShadowPage, ShadowPage, ShadowPage];
  // The guest kernel writes the level-1 table of the walk: its page goes unsync.
  mmu.guestCpu(v).kernel.ensureKernelTables(l1.gfn);
  runAlone(inst, function* () {
    yield* kvmMmuPageFault(v, l1.gfn, true);
  });
  assert.equal(l1.unsync, true);
  const before = oldestFirst(mmu);
  assert.deepEqual(
    before.slice(0, 4).map((sp) => sp.id),
    [root.id, l3.id, l2.id, l1.id],
  );
  const rec = new Recorder();
  kvm.subscribe(rec);
  let zapped = -1;
  underMmuLock(inst, function* () {
    zapped = yield* kvmMmuZapOldestMmuPages(mmu, 3);
  });
  // The level-3 page first, its unsync child with it (2: not enough), then from the tail again: the level-2 page.
  assert.deepEqual(
    rec.of('spZap').map((e) => e.sp),
    [l3.id, l1.id, l2.id],
  );
  assert.equal(zapped, 3);
  assert.equal(root.invalid, false);
  assert.equal(mmu.unsyncPages.size, 0);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('mmulab list --json: the setting maxMmuPages (auto, or 1..1000000) and the mutant zap-oldest-no-flush with its scenario', async () => {
  const r = await captured(['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    scenarios: { name: string }[];
    settings: { key: string; values: string[]; range?: unknown; default: unknown }[];
    mutants: { name: string; scenario: string }[];
  };
  const s = j.settings.find((x) => x.key === 'maxMmuPages');
  assert.deepEqual([s?.values, s?.range, s?.default], [['auto'], { min: 1, max: 1_000_000 }, 'auto']);
  assert.equal(j.mutants.find((m) => m.name === 'zap-oldest-no-flush')?.scenario, MINI);
  assert.ok(j.scenarios.some((x) => x.name === MINI));
});

test(`run ${MINI} (seed 1, simulated): each reclaim is a kvm_mmu_prepare_zap_page line per page, then mmulab_zap_oldest_mmu_pages, then the commit's flush, in ftrace; the run's shadowPages.recycled is the pages it zapped (mmu_recycled)`, () => {
  const s = shortScenario(MINI, 100_000_000);
  const ftrace = new FtraceSink();
  const r = runWith(s, [ftrace], { seed: 1 });
  assert.equal(r.violations.length, 0);
  const lines = [...ftrace.render()]
    .join('')
    .split('\n')
    .filter((l) => /: \w+: /.test(l) && !l.startsWith('#'));
  const reclaims = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes('mmulab_zap_oldest_mmu_pages:'));
  assert.ok(reclaims.length > 0);
  let recycled = 0;
  for (const [line, i] of reclaims) {
    const m = /nr_to_zap (\d+) zapped (\d+) used_pages (\w+) max_pages 9$/.exec(line);
    assert.ok(m, line);
    recycled += Number(m[2]);
    // Before it on its thread (other CPUs' lines interleave by time): its zaps, each page's line (and the leaves it dropped, mmulab_drop_spte).
    const task = line.trim().split(/\s+/)[0]!;
    const mine = lines.slice(0, i).filter((l) => l.trim().startsWith(`${task} `));
    let zaps = 0;
    for (let k = mine.length - 1; k >= 0 && /(kvm_mmu_prepare_zap_page|mmulab_drop_spte): /.test(mine[k]!); k--)
      if (mine[k]!.includes('kvm_mmu_prepare_zap_page:')) zaps++;
    assert.equal(zaps, Number(m[2]), line);
    assert.match(lines.slice(i + 1).find((l) => l.trim().startsWith(`${task} `))!, /mmulab_flush_remote_tlbs: reason kvm_mmu_commit_zap_page$/);
  }
  assert.equal(r.metrics.shadowPages.recycled, recycled);
});
