import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FtraceSink } from '../../src/report/ftrace.js';
import { runWith, shortScenario } from './fixtures.js';

// A probe (thread 003): a run's log had kvm_mmu_prepare_zap_page of the root and nothing
// else of it: no request, no kvm_mmu_free_obsolete_roots, no root freed (a checker's log had them).
test("ftrace of a run says who frees which root and when: the zap's KVM_REQ_MMU_FREE_OBSOLETE_ROOTS to every vCPU, each vCPU's kvm_mmu_free_obsolete_roots (only the one caching the zapped root frees it), the put and the free", () => {
  const sink = new FtraceSink();
  runWith(shortScenario('root-zap-on-process-exit', 1_100_000), [sink], { seed: 1, settings: { rootZap: 'free-obsolete' } });
  const lines = [...sink.render()].join('').split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const zap = at(/kvm_mmu_prepare_zap_page: .* l4 .* root 1 /);
  assert.ok(zap > 0, 'a root zapped in use within 1.1 ms');
  const requests = lines.slice(zap).filter((l) => /mmulab_make_request: +vcpu \d+ req KVM_REQ_MMU_FREE_OBSOLETE_ROOTS kick [01]$/.test(l));
  assert.ok(requests.length >= 8, `a request to each of the 8 vCPUs: ${requests.length}`);
  const serviced = lines.filter((l) => /mmulab_check_request: +vcpu \d+ req KVM_REQ_MMU_FREE_OBSOLETE_ROOTS$/.test(l));
  assert.ok(serviced.length >= 8, `serviced: ${serviced.length}`);
  const frees = lines.map((l) => /mmulab_free_obsolete_roots: +vcpu (\d+) root \w+ prev_roots [\w,]+ freed (\w+)$/.exec(l)).filter((m) => m !== null);
  const freeing = frees.filter((m) => m[2] !== 'none');
  assert.ok(freeing.length >= 1 && freeing.length < frees.length, `only some vCPUs free a root: ${freeing.length} of ${frees.length}`);
  const root = freeing[0]![2];
  assert.ok(
    lines.some((l) => new RegExp(`mmulab_root_free: +root ${root}$`).test(l)),
    `root ${root} freed`,
  );
  assert.ok(
    lines.some((l) => new RegExp(`mmulab_root_alloc: +vcpu \\d+ root ${root} pgd [0-9a-f]+ after_zap 0$`).test(l)),
    `root ${root} loaded`,
  );
});
