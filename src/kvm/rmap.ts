import { ModelBug } from '../runtime/model-bug.js';

/**
 * Reverse maps: for each gfn, the leaf SPTEs that map it (as spteRef). The kernel
 * keeps one array per memslot and level (slot->arch.rmap); the model keeps one map
 * by gfn for 4 KiB leaves, which is what the flows here walk. Non-leaf links are
 * not here (they are in parent_ptes): an rmap cannot find a page that *shadows*
 * a gfn, only the leaves that *map* it — the crux of thread 002.
 * @kernel arch/x86/kvm/mmu/mmu.c rmap_add, rmap_remove, kvm_zap_rmap
 */
export class Rmap {
  private readonly heads = new Map<number, number[]>();

  /** rmap_add. */
  add(gfn: number, ref: number): void {
    const h = this.heads.get(gfn);
    if (h === undefined) this.heads.set(gfn, [ref]);
    else h.push(ref);
  }

  /** rmap_remove. */
  remove(gfn: number, ref: number): void {
    const h = this.heads.get(gfn);
    const i = h === undefined ? -1 : h.indexOf(ref);
    if (h === undefined || i < 0) throw new ModelBug(`rmap of gfn 0x${gfn.toString(16)} lacks SPTE ${ref}`);
    h[i] = h[h.length - 1]!;
    h.pop();
    if (h.length === 0) this.heads.delete(gfn);
  }

  /** The leaf SPTEs mapping `gfn` (a live array: copy before changing the rmap). */
  get(gfn: number): readonly number[] {
    return this.heads.get(gfn) ?? EMPTY;
  }

  /** Gfns in [start, end) with at least one leaf, ascending (scans the smaller of the range and the map). */
  gfnsIn(start: number, end: number): number[] {
    const out: number[] = [];
    if (end - start <= this.heads.size) {
      for (let g = start; g < end; g++) if (this.heads.has(g)) out.push(g);
      return out;
    }
    for (const g of this.heads.keys()) if (g >= start && g < end) out.push(g);
    return out.sort((a, b) => a - b);
  }

  /** The first gfn in [start, end) with a leaf, or -1. */
  firstIn(start: number, end: number): number {
    if (end - start <= this.heads.size) {
      for (let g = start; g < end; g++) if (this.heads.has(g)) return g;
      return -1;
    }
    let best = -1;
    for (const g of this.heads.keys()) if (g >= start && g < end && (best < 0 || g < best)) best = g;
    return best;
  }

  /** Every (gfn, refs) pair, for recounts. */
  entries(): IterableIterator<[number, number[]]> {
    return this.heads.entries();
  }
}

const EMPTY: readonly number[] = [];
