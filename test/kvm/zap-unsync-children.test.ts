import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explore, makeStrategy } from '../../src/check/index.js';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import type { Kvm } from '../../src/kvm/kvm.js';
import { kvmMmuPageFault } from '../../src/kvm/page-fault.js';
import type { ShadowMmu } from '../../src/kvm/shadow-mmu.js';
import type { ShadowPage } from '../../src/kvm/shadow-page.js';
import { __kvmMmuPrepareZapPage, kvmMmuCommitZapPage } from '../../src/kvm/shadow-zap.js';
import type { Vcpu } from '../../src/kvm/vcpu.js';
import { kvmMmuZapAllFast } from '../../src/kvm/zap-all-fast.js';
import { createInstance, effectiveSettings, type KvmInstance } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith, shortScenario } from '../report/fixtures.js';
import { pagesOnWalk, runAlone, shadowVm, underMmuLock, underSlotsLock } from './shadow-harness.js';

// Regression (the model left it out): __kvm_mmu_prepare_zap_page first zaps the
// unsync pages below the page (mmu_zap_unsync_children). Without it a zapped
// root's unsync level-1 pages lived on, cut off, until a lookup found them
// ("kvm_mmu_get_page ... unsync existing") where the kernel makes a new page.

/** Records the events of the kinds a test looks at. */
class Recorder implements Sink {
  readonly events: KvmEvent[] = [];
  on(ev: KvmEvent, _at: EventStamp): void {
    if (ev.e === 'spZap' || ev.e === 'spSync' || ev.e === 'spCreate' || ev.e === 'spFound' || ev.e === 'spFree') this.events.push({ ...ev });
  }
}

/**
 * A one-vCPU guest, its page at gva 0 mapped, and the guest kernel's write to the
 * level-1 table of that walk: the page goes unsync (mmu_try_to_unsync_pages).
 */
function unsyncVm(): { inst: KvmInstance; kvm: Kvm; mmu: ShadowMmu; v: Vcpu; walk: ShadowPage[]; rec: Recorder } {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, processes: 2, warm: 1 });
  const v = kvm.vcpus[0]!;
  const walk = pagesOnWalk(mmu, v);
  const l1 = walk[3]!;
  mmu.guestCpu(v).kernel.ensureKernelTables(l1.gfn);
  let ret = '';
  runAlone(inst, function* () {
    ret = yield* kvmMmuPageFault(v, l1.gfn, true);
  });
  assert.equal(ret, 'fixed');
  assert.equal(l1.unsync, true);
  const rec = new Recorder();
  kvm.subscribe(rec);
  return { inst, kvm, mmu, v, walk, rec };
}

test('mmu_zap_unsync_children: zapping a root in use zaps the unsync level-1 page below it onto the same list, traced as its zap (unsync) then kvm_mmu_sync_page; nr_zapped counts it and the list is unstable; accounting stays right and a refault makes a new page', () => {
  const { inst, mmu, v, walk, rec } = unsyncVm();
  const [root, , l2, l1] = walk as [ShadowPage, ShadowPage, ShadowPage, ShadowPage];
  const used = mmu.nUsedMmuPages;
  let res = { nrZapped: -1, listUnstable: false };
  const list: ShadowPage[] = [];
  underMmuLock(inst, function* () {
    res = yield* __kvmMmuPrepareZapPage(mmu, root, list);
    assert.deepEqual(list, [l1], 'the root stays (a vCPU holds it), its unsync child goes on the list');
    yield* kvmMmuCommitZapPage(mmu, list);
  });
  assert.deepEqual(res, { nrZapped: 1, listUnstable: true });
  assert.equal(l1.unsync, false);
  assert.equal(l1.invalid, true);
  assert.equal(l1.freed, true);
  assert.equal(mmu.unsyncPages.size, 0);
  assert.equal(l2.invalid, false, 'a sync page between them is only cut off, as in the kernel');
  assert.equal(mmu.nUsedMmuPages, used - 1);
  assert.deepEqual(mmu.checkAccounting(), []);
  const order = rec.events.filter((e) => e.e === 'spZap' || e.e === 'spSync').map((e) => `${e.e} ${e.sp}${e.e === 'spSync' ? ` ${e.by}` : ''}`);
  assert.deepEqual(order, [`spZap ${root.id}`, `spZap ${l1.id}`, `spSync ${l1.id} __kvm_mmu_prepare_zap_page`]);
  // The vCPU drops the zapped root and faults the page in again: the lookups make
  // a new level-1 page where the old one was left unsync and found again.
  runAlone(inst, () => mmu.freeObsoleteRoots(v));
  runAlone(inst, () => mmu.reloadRoot(v));
  runAlone(inst, function* () {
    yield* kvmMmuPageFault(v, 0, false);
  });
  const found = rec.events.filter((e) => e.e === 'spFound' && e.sp === l1.id);
  assert.deepEqual(found, [], `sp ${l1.id} found again`);
  assert.ok(rec.events.some((e) => e.e === 'spCreate' && e.gfn === l1.gfn && e.level === 1));
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('mmu_zap_unsync_children: zapping a page between the root and an unsync page (a level-2 table) takes the unsync page too; a level-1 page zaps no children', () => {
  const { inst, mmu, walk } = unsyncVm();
  const [, , l2, l1] = walk as [ShadowPage, ShadowPage, ShadowPage, ShadowPage];
  let res = { nrZapped: -1, listUnstable: false };
  underMmuLock(inst, function* () {
    const list: ShadowPage[] = [];
    res = yield* __kvmMmuPrepareZapPage(mmu, l2, list);
    assert.deepEqual(list, [l1, l2], 'the child first, as mmu_zap_unsync_children runs first');
    yield* kvmMmuCommitZapPage(mmu, list);
  });
  assert.deepEqual(res, { nrZapped: 2, listUnstable: true });
  assert.equal(l1.freed, true);
  assert.deepEqual(mmu.checkAccounting(), []);

  const b = unsyncVm();
  const l1b = b.walk[3]!;
  underMmuLock(b.inst, function* () {
    const list: ShadowPage[] = [];
    res = yield* __kvmMmuPrepareZapPage(b.mmu, l1b, list);
    yield* kvmMmuCommitZapPage(b.mmu, list);
  });
  assert.deepEqual(res, { nrZapped: 1, listUnstable: false }, 'an unsync page is zapped and marked sync, with no list made unstable');
  assert.deepEqual(b.mmu.checkAccounting(), []);
});

test('kvm_zap_obsolete_pages: the unsync children a zap takes with it make the list unstable, and the walk restarts from the tail: every obsolete page is zapped, none left on active_mmu_pages, accounting right', () => {
  const { inst, kvm, mmu, walk } = unsyncVm();
  const l1 = walk[3]!;
  const pages = mmu.active.count;
  underSlotsLock(inst, () => kvmMmuZapAllFast(kvm));
  assert.equal(l1.freed, true);
  assert.equal(mmu.unsyncPages.size, 0);
  assert.equal(mmu.active.count, 0, `${pages} pages before`);
  assert.deepEqual(mmu.checkAccounting(), []);
});

const WATCHED: readonly KvmEvent['e'][] = ['spZap', 'spSync', 'spFound', 'spCreate', 'spFree', 'lockBreak'];

/**
 * Over a run: at each zap of a page above level 1, the unsync pages below it
 * (walking its SPTEs down, before it unlinks them); each must be zapped and
 * marked sync in that zap, and no lookup may find one afterwards.
 */
class OrphanWatch implements Sink {
  readonly kinds = WATCHED;
  private mmu!: ShadowMmu;
  /** Unsync pages below a zapped page, not yet seen zapped. */
  readonly pending = new Set<number>();
  /** Pages that were unsync below a zapped page. */
  readonly below = new Set<number>();
  readonly found: number[] = [];
  zappedUnsync = 0;
  syncedByZap = 0;
  attach(inst: KvmInstance): void {
    this.mmu = inst.kvm.mmu as ShadowMmu;
  }
  private collect(sp: ShadowPage): void {
    for (const child of sp.sptes.values()) {
      const c = this.mmu.sps[child]!;
      if (c.unsync) {
        this.pending.add(c.id);
        this.below.add(c.id);
      } else if (c.level > 1) this.collect(c);
    }
  }
  on(ev: KvmEvent, _at: EventStamp): void {
    switch (ev.e) {
      case 'spZap': {
        const sp = this.mmu.sps[ev.sp]!;
        if (sp.unsync) {
          assert.ok(this.pending.size === 0 || this.pending.has(sp.id), `sp ${sp.id} zapped while sp ${[...this.pending]} wait for their zap`);
          this.zappedUnsync++;
        } else {
          assert.equal(this.pending.size, 0, `sp ${ev.sp} zapped before sp ${[...this.pending]}`);
          if (sp.level > 1) this.collect(sp);
        }
        return;
      }
      case 'spSync':
        if (ev.by === '__kvm_mmu_prepare_zap_page') {
          this.pending.delete(ev.sp);
          this.syncedByZap++;
        }
        return;
      default:
        assert.equal(this.pending.size, 0, `${ev.e} before the zap of sp ${[...this.pending]}`);
        if (ev.e === 'spFound' && this.below.has(ev.sp)) this.found.push(ev.sp);
    }
  }
}

test('root-zap-on-process-exit (seed 1, 5 ms): each unsync page below a zapped page is zapped and marked sync right after it, and no lookup finds one again (before: found again unsync)', () => {
  const watch = new OrphanWatch();
  const result = runWith(shortScenario('root-zap-on-process-exit', 5_000_000), [watch]);
  assert.deepEqual(result.violations, []);
  assert.equal(watch.pending.size, 0);
  assert.ok(watch.below.size > 0, 'some zapped page had unsync pages below it');
  assert.deepEqual(watch.found, []);
  assert.equal(watch.zappedUnsync, watch.syncedByZap);
});

const ZAPS: readonly KvmEvent['e'][] = ['spZap'];

/**
 * Counts the unsync pages zapped by mmu_zap_unsync_children: at the zap of a
 * page above level 1 (traced before it unlinks anything), the unsync pages
 * below it; one of them zapped before any other page is such a zap. An unsync
 * page that a list walk zaps on its own, later, is not counted.
 */
class ChildZaps implements Sink {
  readonly kinds = ZAPS;
  private mmu!: ShadowMmu;
  private readonly below = new Set<number>();
  count = 0;
  attach(inst: KvmInstance): void {
    this.mmu = inst.kvm.mmu as ShadowMmu;
  }
  private collect(sp: ShadowPage): void {
    for (const child of sp.sptes.values()) {
      const c = this.mmu.sps[child]!;
      if (c.unsync) this.below.add(c.id);
      else if (c.level > 1) this.collect(c);
    }
  }
  on(ev: KvmEvent, _at: EventStamp): void {
    if (ev.e !== 'spZap') return;
    const sp = this.mmu.sps[ev.sp]!;
    if (sp.unsync && this.below.delete(sp.id)) {
      this.count++;
      return;
    }
    this.below.clear();
    if (sp.level > 1) this.collect(sp);
  }
}

test('check zap-unsync-children-mini (dfs, preemption bound 2): exhausted with no violation, and the fast zap takes an unsync level-1 page along with the root above it (mmu_zap_unsync_children) in hundreds of the executions (1,610 and 606 when written)', () => {
  const s = loadScenario('zap-unsync-children-mini');
  const settings = effectiveSettings(s);
  let executions = 0;
  let reached = 0;
  let watch: ChildZaps | null = null;
  const tally = () => {
    if (watch !== null && watch.count > 0) reached++;
  };
  const r = explore(
    (o) => {
      tally();
      executions++;
      watch = new ChildZaps();
      const inst = createInstance(s, { settings, mutant: null, log: o.log, metrics: false, sinks: [watch] });
      watch.attach(inst);
      return inst;
    },
    makeStrategy({ kind: 'dfs', preemptionBound: 2 }, 1),
    { maxExecutions: 20_000 },
  );
  tally();
  assert.equal(r.violation, null, r.violation?.message);
  assert.equal(r.modelBug, null);
  assert.equal(r.summary.exhausted, true, `${r.summary.executions} executions`);
  assert.equal(r.summary.executions, executions);
  assert.ok(reached >= 100, `an unsync child zapped in ${reached} of ${executions} executions`);
  assert.ok(reached < executions, 'and not in every one: the delete also comes before the page goes unsync, and after its sync');
});
