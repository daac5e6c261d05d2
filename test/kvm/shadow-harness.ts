import assert from 'node:assert/strict';
import type { Kvm } from '../../src/kvm/kvm.js';
import { KVM_REQ_MMU_SYNC, KVM_REQ_TLB_FLUSH_CURRENT } from '../../src/kvm/requests.js';
import type { Settings } from '../../src/kvm/settings.js';
import { ShadowMmu } from '../../src/kvm/shadow-mmu.js';
import { ROOT_LEVEL, type ShadowPage, spteIndex } from '../../src/kvm/shadow-page.js';
import type { Vcpu } from '../../src/kvm/vcpu.js';
import { kvmCheckRequest } from '../../src/kvm/vcpu-requests.js';
import type { Task } from '../../src/runtime/thread.js';
import { createInstance, effectiveSettings, type KvmInstance } from '../../src/scenario/instantiate.js';
import { parseScenario } from '../../src/scenario/load.js';

/**
 * A small shadow-paged VM for unit tests: one data memslot (0), the guest's
 * page tables in memslot 1, `vcpus` vCPUs with `processes` processes each (or,
 * `sharedProcesses`, threads of the same `processes`) and `warm` pages touched
 * before the start. Nothing runs until a test does.
 */
export function shadowVm(
  opts: { vcpus?: number; processes?: number; warm?: number; settings?: Partial<Settings>; mutant?: string | null; sharedProcesses?: boolean } = {},
): {
  inst: KvmInstance;
  kvm: Kvm;
  mmu: ShadowMmu;
} {
  const text = `
vm:
  vcpus: ${opts.vcpus ?? 2}
  apicAccessPage: false
  memslots:
    - { id: 0, baseGfn: 0, pages: 65536 }
    - { id: 1, baseGfn: 134217728, pages: 4096 }
workload:
  gfnStart: 0
  gfnCount: 65536
  processes: ${opts.processes ?? 1}
  pageTableGfns: 256
  warmPages: ${opts.warm ?? 0}
  accesses: 1${opts.sharedProcesses ? '\n  sharedProcesses: true' : ''}
settings:
  mmu: shadow
stop:
  timeNs: 1000000
`;
  const s = parseScenario(text, 'shadow-harness');
  const inst = createInstance(s, { settings: effectiveSettings(s, opts.settings ?? {}), mutant: opts.mutant ?? null, log: false, metrics: false });
  const mmu = inst.kvm.mmu;
  assert.ok(mmu instanceof ShadowMmu);
  return { inst, kvm: inst.kvm, mmu };
}

/** Runs `body` as a thread of its own, alone (no other thread steps), to its end. */
export function runAlone(inst: KvmInstance, body: () => Task, name = 'test'): void {
  const t = inst.rt.spawn(name, body);
  for (let n = 0; t.state === 'runnable'; n++) {
    assert.ok(n < 1_000_000, `${name} does not finish`);
    inst.rt.runStep(t);
  }
  assert.equal(t.state, 'done', `${name} blocked on ${t.waitingFor}`);
}

/** Runs `body` holding mmu_lock for write. */
export function underMmuLock(inst: KvmInstance, body: () => Task): void {
  runAlone(inst, function* () {
    yield* inst.kvm.mmuLock.writeLock();
    yield* body();
    yield* inst.kvm.mmuLock.writeUnlockY();
  });
}

/** Runs `body` holding slots_lock, as memslot updates and fast zaps do. */
export function underSlotsLock(inst: KvmInstance, body: () => Task): void {
  runAlone(inst, function* () {
    yield* inst.kvm.slotsLock.writeLock();
    yield* body();
    yield* inst.kvm.slotsLock.writeUnlockY();
  });
}

/**
 * The guest's CR3 write as KVM handles it, for a test that runs no vcpu_run:
 * the intercept (kvm_set_cr3: kvm_mmu_new_pgd for a new value, then
 * kvm_invalidate_pcid's requests), the two requests serviced as the next
 * vcpu_enter_guest does (KVM_REQ_MMU_SYNC, then KVM_REQ_TLB_FLUSH_CURRENT), and
 * kvm_mmu_reload.
 */
export function* cr3Write(mmu: ShadowMmu, v: Vcpu): Task {
  yield* mmu.handleGuestExit(v);
  if (kvmCheckRequest(v, KVM_REQ_MMU_SYNC)) yield* mmu.syncRoots(v);
  if (kvmCheckRequest(v, KVM_REQ_TLB_FLUSH_CURRENT)) v.flushTlb();
  yield* mmu.reloadRoot(v);
}

/** The shadow pages on vCPU `v`'s walk of gva 0, from the root (level 4) down to the level-1 page. */
export function pagesOnWalk(mmu: ShadowMmu, v: Vcpu): ShadowPage[] {
  const out: ShadowPage[] = [];
  let sp = mmu.sps[v.root.root]!;
  for (let level = ROOT_LEVEL; ; level--) {
    out.push(sp);
    if (level === 1) return out;
    sp = mmu.sps[sp.sptes.get(spteIndex(0, level))!]!;
  }
}
