import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_MMU_RELOAD } from '../../src/kvm/requests.js';
import type { ShadowMmu } from '../../src/kvm/shadow-mmu.js';
import type { ShadowPage } from '../../src/kvm/shadow-page.js';
import { KVM_MMU_ROOT_CURRENT, kvmMmuFreeRoots, kvmMmuNewPgd } from '../../src/kvm/shadow-roots.js';
import { kvmMmuCommitZapPage, kvmMmuPrepareZapPage } from '../../src/kvm/shadow-zap.js';
import type { Vcpu } from '../../src/kvm/vcpu.js';
import type { KvmInstance } from '../../src/scenario/instantiate.js';
import { runAlone, shadowVm, underMmuLock } from './shadow-harness.js';

const bit = (req: number) => 1 << req;

/** Zaps `sp` as kvm_mmu_prepare_zap_page + commit under mmu_lock. */
function zap(inst: KvmInstance, mmu: ShadowMmu, sp: ShadowPage): void {
  underMmuLock(inst, function* () {
    const list: ShadowPage[] = [];
    yield* kvmMmuPrepareZapPage(mmu, sp, list);
    yield* kvmMmuCommitZapPage(mmu, list);
  });
}

/** The guest loads CR3 = pgd (kvm_mmu_new_pgd), then KVM builds a root if the cache missed (kvm_mmu_reload). */
function loadCr3(inst: KvmInstance, mmu: ShadowMmu, v: Vcpu, pgd: number): void {
  v.cr3 = pgd;
  runAlone(inst, function* () {
    yield* kvmMmuNewPgd(mmu, v, pgd);
    yield* mmu.reloadRoot(v);
  });
}

const pgds = (mmu: ShadowMmu, v: Vcpu) => mmu.guestCpu(v).processes.map((p) => p.pgd);
const slots = (v: Vcpu) => [v.root.pgd, ...v.prevRoots.map((r) => (r.root < 0 ? -1 : r.pgd))];

test('root refcount: two vCPUs on one root; a zap marks it invalid; it is freed only when the last reference goes', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 2 });
  const [v0, v1] = kvm.vcpus as [Vcpu, Vcpu];
  runAlone(inst, () => mmu.freeObsoleteRoots(v1));
  // vCPU1 runs vCPU0's process: both roots are the same page.
  runAlone(inst, () => kvmMmuFreeRoots(mmu, v1, KVM_MMU_ROOT_CURRENT, 'cr3'));
  loadCr3(inst, mmu, v1, v0.cr3);
  const sp = mmu.sps[v0.root.root]!;
  assert.equal(v1.root.root, sp.id);
  assert.equal(sp.rootCount, 2);
  assert.deepEqual(mmu.checkAccounting(), []);
  zap(inst, mmu, sp);
  assert.equal(sp.invalid, true);
  assert.equal(sp.freed, false);
  assert.equal(sp.onActiveList, false, 'an invalid root leaves active_mmu_pages at once');
  for (const v of [v0, v1]) assert.ok(v.requests & bit(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), 'every vCPU is asked to drop it');
  runAlone(inst, () => mmu.freeObsoleteRoots(v0));
  assert.equal(sp.rootCount, 1);
  assert.equal(sp.freed, false, "still vCPU1's root");
  assert.deepEqual(mmu.checkAccounting(), []);
  runAlone(inst, () => mmu.freeObsoleteRoots(v1));
  assert.equal(sp.rootCount, 0);
  assert.equal(sp.freed, true);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('root refcount: a valid root whose count drops to zero stays allocated (and is found again)', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 1 });
  const v = kvm.vcpus[0]!;
  const sp = mmu.sps[v.root.root]!;
  runAlone(inst, () => kvmMmuFreeRoots(mmu, v, KVM_MMU_ROOT_CURRENT, 'cr3'));
  assert.equal(sp.rootCount, 0);
  assert.equal(sp.freed, false);
  runAlone(inst, () => mmu.reloadRoot(v));
  assert.equal(v.root.root, sp.id);
  assert.equal(sp.rootCount, 1);
});

test('previous-roots cache: CR3 loads rotate it LRU-first; a miss frees the least recently used root', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, processes: 5 });
  const v = kvm.vcpus[0]!;
  const [a, b, c, d, e] = pgds(mmu, v) as [number, number, number, number, number];
  for (const p of [a, b, c, d]) loadCr3(inst, mmu, v, p);
  assert.deepEqual(slots(v), [d, c, b, a]);
  const rootOfA = v.prevRoots[2]!.root;
  loadCr3(inst, mmu, v, b);
  assert.deepEqual(slots(v), [b, d, c, a], 'a hit swaps the old current in as the newest previous root');
  const allocated = mmu.sps.length;
  loadCr3(inst, mmu, v, d);
  assert.deepEqual(slots(v), [d, b, c, a]);
  assert.equal(mmu.sps.length, allocated, 'hits build nothing');
  loadCr3(inst, mmu, v, e);
  assert.deepEqual(slots(v), [e, d, b, c], 'a miss drops the least recently used root');
  assert.equal(mmu.sps[rootOfA]!.rootCount, 0);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('previous-roots cache: a zapped (invalid) cached root is not reused; the CR3 load misses and builds a new root', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, processes: 2, mutant: 'zap-root-no-request' });
  const v = kvm.vcpus[0]!;
  const [a, b] = pgds(mmu, v) as [number, number];
  loadCr3(inst, mmu, v, a);
  loadCr3(inst, mmu, v, b);
  const old = mmu.sps[v.prevRoots[0]!.root]!;
  zap(inst, mmu, old);
  loadCr3(inst, mmu, v, a);
  assert.notEqual(v.root.root, old.id);
  assert.equal(mmu.sps[v.root.root]!.gfn, a);
  assert.equal(mmu.sps[v.root.root]!.invalid, false);
});

test('free-obsolete frees only the invalid root; reload-all (kvm_mmu_unload) frees current and previous roots', () => {
  for (const rootZap of ['free-obsolete', 'reload-all'] as const) {
    const { inst, kvm, mmu } = shadowVm({ vcpus: 2, processes: 3, settings: { rootZap } });
    const [v0, v1] = kvm.vcpus as [Vcpu, Vcpu];
    for (const p of pgds(mmu, v1)) loadCr3(inst, mmu, v1, p);
    for (const p of pgds(mmu, v0)) loadCr3(inst, mmu, v0, p);
    const victim = mmu.sps[v1.prevRoots[1]!.root]!;
    zap(inst, mmu, victim);
    const req = rootZap === 'reload-all' ? KVM_REQ_MMU_RELOAD : KVM_REQ_MMU_FREE_OBSOLETE_ROOTS;
    for (const v of [v0, v1]) assert.ok(v.requests & bit(req), `${rootZap}: request to vCPU${v.id}`);
    const before0 = slots(v0);
    if (rootZap === 'reload-all') {
      for (const v of [v0, v1]) runAlone(inst, () => mmu.unloadRoots(v));
      for (const v of [v0, v1]) assert.deepEqual(slots(v), [-1, -1, -1, -1], 'every root of every vCPU goes');
    } else {
      for (const v of [v0, v1]) runAlone(inst, () => mmu.freeObsoleteRoots(v));
      assert.deepEqual(slots(v0), before0, 'vCPU0 keeps all its roots');
      assert.equal(v1.prevRoots[1]!.root, -1);
      assert.ok(v1.root.root >= 0 && v1.prevRoots[0]!.root >= 0, 'vCPU1 keeps the others');
    }
    assert.equal(victim.freed, true);
    assert.deepEqual(mmu.checkAccounting(), []);
  }
});

test('root zap request: made after role.invalid is set; not made for an already obsolete root; not made with mutant zap-root-no-request', () => {
  class Order implements Sink {
    readonly seen: string[] = [];
    on(ev: KvmEvent): void {
      if (ev.e === 'spZap' || ev.e === 'request') this.seen.push(ev.e);
    }
  }
  const { inst, kvm, mmu } = shadowVm({ warm: 1 });
  const order = new Order();
  kvm.subscribe(order);
  zap(inst, mmu, mmu.sps[kvm.vcpus[0]!.root.root]!);
  assert.deepEqual(order.seen, ['spZap', 'request', 'request']);

  const b = shadowVm({ warm: 1 });
  b.kvm.mmuValidGen ^= 1;
  zap(b.inst, b.mmu, b.mmu.sps[b.kvm.vcpus[0]!.root.root]!);
  assert.equal(b.kvm.vcpus[0]!.requests, 0, "an obsolete root was already covered by the fast zap's request");

  const c = shadowVm({ warm: 1, mutant: 'zap-root-no-request' });
  zap(c.inst, c.mmu, c.mmu.sps[c.kvm.vcpus[0]!.root.root]!);
  assert.equal(c.kvm.vcpus[0]!.requests, 0);
});

test('root check at entry: while a root-drop request goes round, only a root it is about (invalid or obsolete) is excused; a root for another CR3, or an obsolete cached root, is still reported', () => {
  const { inst, kvm, mmu } = shadowVm({ warm: 1, processes: 2 });
  const v = kvm.vcpus[0]!;
  const [a, b] = pgds(mmu, v) as [number, number];
  loadCr3(inst, mmu, v, a);
  assert.equal(mmu.rootProblem(v), null);
  // A request to drop roots is on its way to the vCPUs, not at this one yet.
  mmu.rootDropInFlight++;
  v.cr3 = b;
  assert.match(mmu.rootProblem(v) ?? '', /but CR3 is/, 'a CR3 mismatch is not what the request is about');
  v.cr3 = a;
  mmu.sps[v.root.root]!.invalid = true;
  assert.equal(mmu.rootProblem(v), null, 'the root the request is about is excused');
  mmu.rootDropInFlight--;
  assert.match(mmu.rootProblem(v) ?? '', /is invalid/);
});

test('kvm_mmu_new_pgd: a root taken back from the cache counts writes toward a flood afresh (the kernel clears its write_flooding_count after a fast switch; a probe: it kept the count)', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 1, processes: 2 });
  const v = kvm.vcpus[0]!;
  const [a, b] = pgds(mmu, v) as [number, number];
  loadCr3(inst, mmu, v, a);
  const rootOfA = mmu.sps[v.root.root]!;
  loadCr3(inst, mmu, v, b);
  rootOfA.writeFloodingCount = 2;
  loadCr3(inst, mmu, v, a);
  assert.equal(v.root.root, rootOfA.id, 'a hit');
  assert.equal(rootOfA.writeFloodingCount, 0);
});
