import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CleanRanges } from '../../src/oracle/clean-ranges.js';

test('clean ranges: a freed page skips the TLB scan only while no TLB can have been filled with it', () => {
  const c = new CleanRanges();
  assert.equal(c.tlbsClean(5), false, 'nothing checked yet');
  c.opened(1, 0, 10);
  c.opened(2, 20, 30);
  assert.equal(c.tlbsClean(5), true);
  assert.equal(c.tlbsClean(15), false, 'outside every checked range');
  c.filled(7);
  assert.equal(c.tlbsClean(5), false, 'a guest access through the SPTEs filled a TLB with a page of the range');
  assert.equal(c.tlbsClean(25), true, 'the other range is untouched');
  c.enteredUnflushed();
  assert.equal(c.tlbsClean(25), false, 'a vCPU entered with a flush pending: its old entries count again');
  c.closed(2, 20, 30);
  c.opened(2, 20, 30);
  assert.equal(c.tlbsClean(25), true, 'a new invalidation is checked afresh');
  c.closed(2, 20, 30);
  assert.equal(c.tlbsClean(25), false, 'ended');
});
