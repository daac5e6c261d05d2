/**
 * Four-level radix page tables of 512 entries, as the TDP MMU keeps them. Tables
 * live in a pool of Int32Arrays indexed by number (an arena), so a root is a table
 * index and a walk touches no objects. An entry holds 0 when not present; a
 * non-leaf entry holds child index + 1; a leaf holds pfn + 1, or, for an MMIO
 * SPTE, -1 - its generation, so that `lookup` returns mmio-spte.ts's encoding
 * (a pfn, NO_SPTE, or -2 - gen) with no test on its path.
 */
import { CHUNK_ENTRIES, giveChunks, takeChunk } from '../runtime/chunk-pool.js';

const BITS = 9;
const FANOUT = 1 << BITS;
if (FANOUT !== CHUNK_ENTRIES) throw new Error('page tables are one chunk each');
const MASK = FANOUT - 1;
export const LEVELS = 4;

/** Index into the table at `level` (1 = leaf table) for `gfn`. */
function indexAt(gfn: number, level: number): number {
  // gfns fit in 36 bits: use division for the upper levels to stay exact beyond 2^31.
  return level === 1 ? gfn & MASK : Math.floor(gfn / SPAN[level]!) & MASK;
}
/** Gfns covered by one entry at each level (index = level). */
const SPAN = [0, 1, 2 ** BITS, 2 ** (2 * BITS), 2 ** (3 * BITS)];

export class TablePool {
  private readonly tables: Int32Array[] = [];
  /** Entries in use per table (present leaves and MMIO SPTEs, or links). */
  private readonly used: number[] = [];
  private readonly freeList: number[] = [];
  /** Tables allocated now. */
  live = 0;

  alloc(): number {
    this.live++;
    const reuse = this.freeList.pop();
    if (reuse !== undefined) {
      this.tables[reuse]!.fill(0);
      this.used[reuse] = 0;
      return reuse;
    }
    this.tables.push(takeChunk());
    this.used.push(0);
    return this.tables.length - 1;
  }

  /** Hands every table back to the chunk pool: the pool is unusable afterwards. */
  dispose(): void {
    giveChunks(this.tables);
    this.tables.length = 0;
    this.used.length = 0;
    this.freeList.length = 0;
    this.live = 0;
  }

  release(t: number): void {
    this.live--;
    this.freeList.push(t);
  }

  table(t: number): Int32Array {
    return this.tables[t]!;
  }

  /** The leaf pfn mapping `gfn` under `root`, -1, or an MMIO SPTE (mmio-spte.ts: <= -2). */
  lookup(root: number, gfn: number): number {
    let t = root;
    for (let level = LEVELS; level > 1; level--) {
      const e = this.tables[t]![indexAt(gfn, level)]!;
      if (e === 0) return -1;
      t = e - 1;
    }
    return this.tables[t]![gfn & MASK]! - 1;
  }

  /** Maps `gfn` to `pfn` (pfn < 0 clears); returns what `lookup` returned before. */
  set(root: number, gfn: number, pfn: number): number {
    return this.setEntry(root, gfn, pfn < 0 ? 0 : pfn + 1);
  }

  /** Installs an MMIO SPTE (mmio-spte.ts's encoding, <= -2) for `gfn`; returns what `lookup` returned before. */
  setMmio(root: number, gfn: number, spte: number): number {
    return this.setEntry(root, gfn, spte + 1);
  }

  private setEntry(root: number, gfn: number, entry: number): number {
    const clear = entry === 0;
    let t = root;
    for (let level = LEVELS; level > 1; level--) {
      const tab = this.tables[t]!;
      const i = indexAt(gfn, level);
      let e = tab[i]!;
      if (e === 0) {
        if (clear) return -1;
        const child = this.alloc();
        e = child + 1;
        this.tables[t]![i] = e;
        this.used[t]!++;
      }
      t = e - 1;
    }
    const leaf = this.tables[t]!;
    const i = gfn & MASK;
    const was = leaf[i]!;
    if (was === 0 && !clear) this.used[t]!++;
    else if (was !== 0 && clear) this.used[t]!--;
    leaf[i] = entry;
    return was - 1;
  }

  /**
   * The first gfn in [from, end) with a present leaf under `root`, or -1; with
   * `mmio`, an MMIO SPTE counts too (is_shadow_present_pte says no to one: leaf
   * zaps pass over them, zapping the tables above takes them along).
   */
  nextPresent(root: number, from: number, end: number, mmio = false): number {
    // One gfn (the oracle's check of each freed page): a plain walk.
    if (end - from === 1) {
      const e = this.lookup(root, from);
      return e >= 0 || (mmio && e < -1) ? from : -1;
    }
    return this.scan(root, LEVELS, 0, from, end, mmio);
  }

  /** The leaf table the last `scan` found its gfn in (LeafIter keeps it). */
  foundLeaf = -1;

  /** nextPresent's walk from the root, always: `foundLeaf` is the found gfn's leaf table. */
  walkFrom(root: number, from: number, end: number, mmio: boolean): number {
    return this.scan(root, LEVELS, 0, from, end, mmio);
  }

  private scan(t: number, level: number, base: number, from: number, end: number, mmio: boolean): number {
    const span = 2 ** (BITS * (level - 1));
    const tab = this.tables[t]!;
    let i = from > base ? Math.floor((from - base) / span) : 0;
    for (; i < FANOUT; i++) {
      const lo = base + i * span;
      if (lo >= end) return -1;
      const e = tab[i]!;
      if (e === 0) continue;
      if (level === 1) {
        if (lo >= from && (e > 0 || mmio)) {
          this.foundLeaf = t;
          return lo;
        }
        continue;
      }
      const g = this.scan(e - 1, level - 1, lo, from, end, mmio);
      if (g >= 0) return g;
    }
    return -1;
  }

  /** Frees every table under `root`, root included. */
  freeTree(root: number, level = LEVELS): void {
    if (level > 1) {
      const tab = this.tables[root]!;
      for (let i = 0; i < FANOUT; i++) if (tab[i] !== 0) this.freeTree(tab[i]! - 1, level - 1);
    }
    this.release(root);
  }

  /** Leaves in use under `root`, MMIO SPTEs included (for accounting checks and reports). */
  countPresent(root: number, level = LEVELS): number {
    const tab = this.tables[root]!;
    if (level === 1) return this.used[root]!;
    let n = 0;
    for (let i = 0; i < FANOUT; i++) if (tab[i] !== 0) n += this.countPresent(tab[i]! - 1, level - 1);
    return n;
  }
}

/**
 * A walk over the present leaves of [start, end) under a root that keeps its
 * place, as the kernel's tdp_iter does: the next leaf is looked for in the leaf
 * table of the last one before a walk down from the root. Tables are freed only
 * with their root (TablePool.freeTree), so the kept table stays the root's while
 * the walker holds mmu_lock and sees the root not freed; after dropping the lock
 * it calls `restart` (tdp_iter_restart), and the next walk starts from the root.
 */
export class LeafIter {
  private leaf = -1;
  private leafBase = 0;

  constructor(
    private readonly pool: TablePool,
    private readonly root: number,
    private readonly end: number,
    private readonly mmio: boolean,
  ) {}

  /** The first gfn at or after `from` (and before the end) with a present leaf (an MMIO SPTE too with `mmio`), or -1. */
  next(from: number): number {
    let g = from;
    if (this.leaf >= 0) {
      const off = g - this.leafBase;
      if (off >= 0 && off < FANOUT) {
        const tab = this.pool.table(this.leaf);
        const stop = Math.min(FANOUT, this.end - this.leafBase);
        for (let i = off; i < stop; i++) {
          const e = tab[i]!;
          if (e > 0 || (e < 0 && this.mmio)) return this.leafBase + i;
        }
        g = this.leafBase + FANOUT;
        if (g >= this.end) return -1;
      }
    }
    const found = this.pool.walkFrom(this.root, g, this.end, this.mmio);
    if (found < 0) {
      this.leaf = -1;
      return -1;
    }
    this.leaf = this.pool.foundLeaf;
    this.leafBase = found - (found & MASK);
    return found;
  }

  /** The lock was dropped: the next walk starts from the root. */
  restart(): void {
    this.leaf = -1;
  }
}
