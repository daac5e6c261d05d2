import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FtraceSink } from '../../src/report/ftrace.js';
import { runWith, shortScenario } from './fixtures.js';

// Regression (a probe): kvm_mmu_prepare_zap_page printed "root 1" for any page some
// vCPU held as a root. root-zap-mini with a memslot deleted at 33 µs by
// kvm_mmu_zap_all_fast: both vCPUs are on init_mm's root (gfn 0x8000000) then, and
// it is zapped with root_count 2.
test('ftrace kvm_mmu_prepare_zap_page prints the root count of the page: 2 for the init_mm root both vCPUs of root-zap-mini hold', () => {
  const s = shortScenario('root-zap-mini', 100_000_000);
  s.vm.memslots.push({ ...s.vm.memslots[0]!, id: 1, baseGfn: 16, pages: 16 });
  s.host.memslotChanges.push({ atNs: 33_000, op: 'delete', slot: 1 });
  const sink = new FtraceSink();
  runWith(s, [sink], { seed: 1, settings: { memslotFlush: 'zap-all-fast' } });
  const zaps = [...sink.render()]
    .join('')
    .split('\n')
    .filter((l) => l.includes('kvm_mmu_prepare_zap_page') && l.includes(' l4 ') && !l.includes(' invalid '))
    .map((l) => /gfn (\w+) l4 .* root (\d+) /.exec(l)!.slice(1));
  // The processes' roots (each one vCPU's), then init_mm's.
  assert.deepEqual(zaps, [
    ['8000400', '1'],
    ['8000420', '1'],
    ['8000000', '2'],
  ]);
});
