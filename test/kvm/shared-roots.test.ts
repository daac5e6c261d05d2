import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS } from '../../src/kvm/requests.js';
import type { ShadowPage } from '../../src/kvm/shadow-page.js';
import { kvmMmuCommitZapPage, kvmMmuPrepareZapPage } from '../../src/kvm/shadow-zap.js';
import type { Vcpu } from '../../src/kvm/vcpu.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { shadowGuestSpecs } from '../../src/scenario/shadow-guest.js';
import { simulate } from '../../src/simulate/simulate.js';
import { runAlone, shadowVm, underMmuLock } from './shadow-harness.js';

const bit = (req: number) => 1 << req;

test('sharedProcesses: the vCPUs start on threads of one process; each kvm_mmu_load finds the same root page (kvm_mmu_get_shadow_page), and root_count counts both', () => {
  const { inst, kvm, mmu } = shadowVm({ vcpus: 2, processes: 2, sharedProcesses: true });
  const [v0, v1] = kvm.vcpus as [Vcpu, Vcpu];
  assert.equal(v0.cr3, v1.cr3, 'one PGD');
  assert.deepEqual(
    mmu.guestCpu(v0).processes.map((p) => p.pgd),
    mmu.guestCpu(v1).processes.map((p) => p.pgd),
    'one run list',
  );
  for (const v of [v0, v1]) runAlone(inst, () => mmu.reloadRoot(v));
  assert.equal(v0.root.root, v1.root.root);
  const sp = mmu.sps[v0.root.root]!;
  assert.equal(sp.rootCount, 2);
  assert.equal(mmu.sps.filter((s) => s.gfn === sp.gfn).length, 1, 'one shadow page for the PGD');
  assert.deepEqual(mmu.checkAccounting(), []);

  // Zapping it (the process's PGD page reused) asks both vCPUs, and it lives on until both let go.
  underMmuLock(inst, function* () {
    const list: ShadowPage[] = [];
    yield* kvmMmuPrepareZapPage(mmu, sp, list);
    yield* kvmMmuCommitZapPage(mmu, list);
  });
  for (const v of [v0, v1]) assert.ok(v.requests & bit(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), `request to vCPU${v.id}`);
  runAlone(inst, () => mmu.freeObsoleteRoots(v0));
  assert.equal(sp.rootCount, 1);
  assert.equal(sp.freed, false);
  runAlone(inst, () => mmu.freeObsoleteRoots(v1));
  assert.equal(sp.freed, true);
  assert.deepEqual(mmu.checkAccounting(), []);
});

test('sharedProcesses off: each vCPU has processes of its own, on PGDs of its own (the default, unchanged)', () => {
  const { kvm, mmu } = shadowVm({ vcpus: 2, processes: 2 });
  const [v0, v1] = kvm.vcpus as [Vcpu, Vcpu];
  assert.notEqual(v0.cr3, v1.cr3);
  const theirs = new Set(mmu.guestCpu(v1).processes.map((p) => p.pgd));
  assert.ok(mmu.guestCpu(v0).processes.every((p) => !theirs.has(p.pgd)));
  assert.equal(mmu.sharedProcesses, null);
});

/** The events of a run that tell the story of a root: who loads it, its zap, the requests, who lets go. */
class RootStory implements Sink {
  readonly lines: string[] = [];
  on(ev: KvmEvent): void {
    if (ev.e === 'rootAlloc') this.lines.push(`alloc vCPU${ev.vcpu} root ${ev.root}`);
    else if (ev.e === 'spZap' && ev.root) this.lines.push(`zap root ${ev.sp}`);
    else if (ev.e === 'request' && ev.req === KVM_REQ_MMU_FREE_OBSOLETE_ROOTS) this.lines.push(`request vCPU${ev.vcpu}`);
    else if (ev.e === 'rootPut') this.lines.push(`put vCPU${ev.vcpu} root ${ev.root} count ${ev.count}`);
  }
}

test("root-zap-shared-mini (simulated, seed 1): both vCPUs load the first process's root; the last thread's exit reuses its PGD page, which zaps the root both cache; every vCPU is asked, and both let it go", () => {
  const s = loadScenario('root-zap-shared-mini');
  const story = new RootStory();
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: 1, sinks: [story] });
  assert.equal(r.modelBug, null);
  assert.deepEqual(r.violations, []);
  const lines = story.lines;
  assert.deepEqual(lines.slice(0, 2), ['alloc vCPU0 root 0', 'alloc vCPU1 root 0']);
  const zap = lines.indexOf('zap root 0');
  assert.ok(zap > 0, lines.join('\n'));
  assert.deepEqual(lines.slice(zap + 1, zap + 3), ['request vCPU0', 'request vCPU1']);
  const puts = lines.slice(zap).filter((l) => l.startsWith('put ') && l.includes(' root 0 '));
  assert.deepEqual(puts.map((l) => l.split(' ')[1]).sort(), ['vCPU0', 'vCPU1'], lines.join('\n'));
  assert.ok(puts.at(-1)!.endsWith('count 0'));
});

const SHARED = (extra: string) =>
  parseScenario(
    `vm: { vcpus: 2, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 16 }] }
workload: { gfnCount: 2, accesses: 4, processes: 2, processExitNs: 8000, pageTableGfns: 32, sharedProcesses: true }
${extra}settings: { mmu: shadow }
`,
    'shared.yaml',
  );

test('sharedProcesses: what it cannot mean is refused on one line naming the field (a per-vCPU choice of it or of the processes; one process that exits on several vCPUs)', () => {
  const specs = (extra: string) => {
    const s = SHARED(extra);
    return shadowGuestSpecs(s, [
      { id: 0, baseGfn: 0, npages: 16, hvaPage: 0, flags: 0 },
      { id: 1, baseGfn: 2 ** 27, npages: 4096, hvaPage: 1024, flags: 0 },
    ]);
  };
  assert.equal(specs('').length, 2);
  assert.throws(() => specs('vcpuWorkloads: [{ sharedProcesses: false }]\n'), /vcpuWorkloads\[0\]\.sharedProcesses: .*; expected it set in workload only$/);
  assert.throws(
    () => specs('vcpuWorkloads: [{}, { processes: 3 }]\n'),
    /vcpuWorkloads\[1\]\.processes: with workload\.sharedProcesses .*; expected processes set in workload only/,
  );
  assert.throws(() => specs('vcpuWorkloads: [{ pageTableGfns: 64 }]\n'), /vcpuWorkloads\[0\]\.pageTableGfns: /);
  const one = SHARED('');
  one.workload.processes = 1;
  assert.throws(
    () =>
      shadowGuestSpecs(one, [
        { id: 0, baseGfn: 0, npages: 16, hvaPage: 0, flags: 0 },
        { id: 1, baseGfn: 2 ** 27, npages: 4096, hvaPage: 1024, flags: 0 },
      ]),
    /workload\.processes: 1 with sharedProcesses and processExitNs on 2 vCPUs: .*; expected at least 2/,
  );
});

test("sharedProcesses: the guest's page tables are vCPU0's region alone, so a page-table memslot too small for every vCPU's region is no refusal (a probe: 16 vCPUs were refused for vCPU15's unused region); unshared it still is", () => {
  const slots = [
    { id: 0, baseGfn: 0, npages: 16, hvaPage: 0, flags: 0 },
    { id: 1, baseGfn: 2 ** 27, npages: 2048, hvaPage: 1024, flags: 0 },
  ];
  const many = SHARED('');
  many.vm.vcpus = 64;
  assert.equal(shadowGuestSpecs(many, slots).length, 64);
  many.workload.sharedProcesses = false;
  assert.throws(() => shadowGuestSpecs(many, slots), /vm\.memslots: vCPU\d+'s page tables, its 32 gfns .* lie outside the memslot holding page tables/);
});
