import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EptSptes, shadowSpte } from '../../src/report/spte-value.js';

/** The bits of a printed SPTE (hex), as a set of bit numbers. */
function bits(hex: string): number[] {
  const v = BigInt(`0x${hex}`);
  const out: number[] = [];
  for (let i = 0; i < 64; i++) if ((v >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/** The bits of pfn 0x1000 (bit 24 of the SPTE). */
const PFN_BIT = 24;

test('a TDP leaf prints as an EPT leaf of Linux v6.10+ holds it (a probe: the log printed pfn<<12|RWX, 1000007, and 0 for a zapped leaf)', () => {
  const ad = new EptSptes(true);
  // R W X, memory type WB (6 in bits 5:3), ignore PAT (6), A (8), D (9), MMU-present (11), the pfn, host-writable (57), MMU-writable (58).
  assert.deepEqual(bits(ad.leaf(0x1000)), [0, 1, 2, 4, 5, 6, 8, 9, 11, PFN_BIT, 57, 58]);
  assert.equal(ad.leaf(0x1000), '600000001000b77');
  // Dirty logging's write protection clears W alone; aging's clear the A bit alone.
  assert.deepEqual(bits(ad.leaf(0x1000, false)), [0, 2, 4, 5, 6, 8, 9, 11, PFN_BIT, 57, 58]);
  assert.deepEqual(bits(ad.leaf(0x1000, true, false)), [0, 1, 2, 4, 5, 6, 9, 11, PFN_BIT, 57, 58]);
  // No leaf, or one zapped: SHADOW_NONPRESENT_VALUE, bit 63.
  assert.equal(ad.leaf(-1), '8000000000000000');
  assert.equal(ad.none(), '8000000000000000');
  // Without EPT A/D bits: no A or D, the A/D-disabled type in bits 53:52 (1).
  const noAd = new EptSptes(false);
  assert.deepEqual(bits(noAd.leaf(0x1000)), [0, 1, 2, 4, 5, 6, 11, PFN_BIT, 52, 57, 58]);
  // Access-tracked: RWX clear, R and X saved at 54 and 56, the rest kept.
  assert.deepEqual(bits(noAd.tracked(0x1000)), [4, 5, 6, 11, PFN_BIT, 52, 54, 56, 57, 58]);
  assert.equal(noAd.tracked(-1), '8000000000000000');
});

test('a shadow leaf prints as before: P, W, U as the guest PTE has it, A, D with W, host-writable (9), MMU-writable (10) with W, MMU-present (11)', () => {
  assert.equal(shadowSpte(0x1000, true, true).toString(16), '1000e67');
  assert.equal(shadowSpte(0x1000, false, false).toString(16), '1000a21');
  assert.equal(shadowSpte(-1, true, true), 0);
});
