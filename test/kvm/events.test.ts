import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEvent } from '../../src/kvm/events.js';

test('events: host addresses print in bytes as the kernel prints an hva (the model keeps page numbers), gfns and pfns as page numbers', () => {
  assert.equal(describeEvent({ e: 'invalidateRangeStart', kind: 'reclaim', hvaStart: 1, hvaEnd: 3 }), 'reclaim: invalidate_range_start [0x1000,0x3000)');
  assert.equal(describeEvent({ e: 'gup', vcpu: 1, gfn: 2, hva: 0x3f8000000, pfn: 0x11 }), 'gfn 0x2: hva 0x3f8000000000 → pfn 0x11 (get_user_pages)');
  assert.equal(
    describeEvent({ e: 'hostPteChange', hva: 2, oldPfn: 0x11, newPfn: -1, kind: 'reclaim' }),
    'reclaim: host PTE hva 0x2000 unmapped (was pfn 0x11)',
  );
});
