import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeafIter, TablePool } from '../../src/kvm/page-table.js';
import { Prng } from '../../src/runtime/prng.js';

/** The gfns nextPresent gives walking [start, end) from the root each time, as zapLeafs did before LeafIter. */
function byRoot(pool: TablePool, root: number, start: number, end: number, mmio: boolean): number[] {
  const out: number[] = [];
  for (let g = pool.nextPresent(root, start, end, mmio); g >= 0; g = pool.nextPresent(root, g + 1, end, mmio)) out.push(g);
  return out;
}

test('LeafIter finds the leaves nextPresent finds, across leaf tables and upper levels, MMIO SPTEs only when asked', () => {
  const prng = new Prng(7);
  for (let round = 0; round < 40; round++) {
    const pool = new TablePool();
    const root = pool.alloc();
    const base = prng.below(4) * 2 ** 27;
    for (let i = 0; i < 300; i++) {
      // Clusters within a leaf table, neighbouring tables, and far ones (another upper-level entry).
      const gfn = base + (prng.below(3) === 0 ? prng.below(2 ** 20) : prng.below(3 * 512));
      if (prng.below(5) === 0) pool.setMmio(root, gfn, -2 - prng.below(4));
      else pool.set(root, gfn, 0x1000 + i);
    }
    for (const mmio of [false, true]) {
      const start = base + prng.below(600);
      const end = start + 1 + prng.below(prng.below(2) === 0 ? 2000 : 2 ** 20);
      const it = new LeafIter(pool, root, end, mmio);
      const got: number[] = [];
      for (let g = it.next(start); g >= 0; g = it.next(g + 1)) got.push(g);
      assert.deepEqual(got, byRoot(pool, root, start, end, mmio));
    }
  }
});

test('LeafIter sees a leaf installed ahead of it in the table it keeps, and one in a leaf table made meanwhile', () => {
  const pool = new TablePool();
  const root = pool.alloc();
  for (const g of [10, 20]) pool.set(root, g, 0x2000 + g);
  const it = new LeafIter(pool, root, 5000, false);
  assert.equal(it.next(0), 10);
  pool.set(root, 15, 0x3000);
  pool.set(root, 5, 0x3001);
  assert.equal(it.next(11), 15);
  pool.set(root, 2000, 0x3002);
  assert.equal(it.next(16), 20);
  it.restart();
  assert.equal(it.next(21), 2000);
  assert.equal(it.next(2001), -1);
});
