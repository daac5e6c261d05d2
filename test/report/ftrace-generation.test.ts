import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FtraceSink } from '../../src/report/ftrace.js';
import { runWith, shortScenario } from './fixtures.js';

// Regression (probe of threads 000/002): a run's ftrace log said kvm_mmu_zap_all_fast's old
// generation (its tracepoint fires before the toggle) and nothing else of the fast zap's protocol:
// not the toggle of mmu_valid_gen, not the KVM_REQ_MMU_FREE_OBSOLETE_ROOTS it makes under
// mmu_lock, not the vCPUs servicing it (kvm_mmu_free_obsolete_roots) nor the roots freed, which
// the Perfetto trace of the same run and a checker's log do show. root-zap-mini with a memslot
// deleted at 33 µs by kvm_mmu_zap_all_fast, two vCPUs.
test('a run ftrace log shows the fast zap toggling mmu_valid_gen, its KVM_REQ_MMU_FREE_OBSOLETE_ROOTS and the vCPUs freeing their obsolete roots', () => {
  const s = shortScenario('root-zap-mini', 100_000_000);
  s.vm.memslots.push({ ...s.vm.memslots[0]!, id: 1, baseGfn: 16, pages: 16 });
  s.host.memslotChanges.push({ atNs: 33_000, op: 'delete', slot: 1 });
  const sink = new FtraceSink();
  runWith(s, [sink], { seed: 1, settings: { memslotFlush: 'zap-all-fast' } });
  const lines = [...sink.render()].join('').split('\n');
  const names = lines.filter((l) => !l.startsWith('#')).map((l) => /^\s*\S+\s+\[\d+\]\s+[\d.]+: (\w+):/.exec(l)?.[1]);
  const at = (name: string) => names.indexOf(name);
  assert.ok(at('kvm_mmu_zap_all_fast') >= 0, 'the zap');
  assert.ok(
    lines.some((l) => /mmulab_mmu_valid_gen: +mmu_valid_gen 0 -> 1/.test(l)),
    'the toggle, old and new',
  );
  assert.ok(at('mmulab_mmu_valid_gen') > at('kvm_mmu_zap_all_fast'), 'after the tracepoint, which says the old generation');
  // The toggle's requests, one per vCPU, made under mmu_lock right after it (root-zap-mini's
  // process exits make more, for the roots they zap).
  const toggle = lines.findIndex((l) => l.includes('mmulab_mmu_valid_gen'));
  const reqs = lines.slice(toggle + 1, toggle + 3).map((l) => /mmulab_make_request: +vcpu (\d) req KVM_REQ_MMU_FREE_OBSOLETE_ROOTS/.exec(l)?.[1]);
  assert.deepEqual(reqs, ['0', '1'], 'one request per vCPU');
  assert.ok(
    lines.some((l) => l.includes('mmulab_check_request') && l.includes('KVM_REQ_MMU_FREE_OBSOLETE_ROOTS')),
    'serviced',
  );
  assert.ok(
    lines.some((l) => /mmulab_free_obsolete_roots: +vcpu \d root \S+ prev_roots \S+ freed \d/.test(l)),
    'kvm_mmu_free_obsolete_roots',
  );
  assert.ok(names.includes('mmulab_root_free'), 'a root freed');
  // Only that request: the TLB flush requests of each remote flush stay out of a run's log.
  assert.ok(!lines.some((l) => l.includes('mmulab_make_request') && l.includes('KVM_REQ_TLB_FLUSH ')), 'no TLB flush requests');
});
