import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INVALID_GPA } from '../../src/kvm/kvm.js';
import { instantArgs } from '../../src/report/instant-args.js';

const precheck = {
  e: 'precheck' as const,
  vcpu: 1,
  gfn: 0,
  afterGup: false,
  inProgress: 1,
  kept: true,
  rangeStart: 0,
  rangeEnd: 1,
  seq: 2,
  snapshot: 2,
  retry: true,
};

test("the lockless pre-check's Perfetto instant carries what it read: the count (kept or not), the range, the seq and the snapshot (a probe: it had no fields but its text)", () => {
  assert.deepEqual(instantArgs({ ...precheck }), {
    vcpu: 1,
    gfn: '0x0',
    afterGup: false,
    mmuInvalidateInProgress: 1,
    kept: true,
    range: '[0x0,0x1)',
    mmuInvalidateSeq: 2,
    snapshot: 2,
    retry: true,
  });
  // No range while the count read is 0, nor before the first kvm_mmu_invalidate_range_add.
  assert.equal(instantArgs({ ...precheck, inProgress: 0, kept: false, retry: false }).range, undefined);
  assert.equal(instantArgs({ ...precheck, rangeStart: INVALID_GPA, rangeEnd: INVALID_GPA }).range, undefined);
});
