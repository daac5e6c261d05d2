/**
 * One bit of the TDP MMU's leaf SPTEs kept beside the page-table pool, by root
 * and gfn: the set holds the leaves that have it. The pool stores pfns only, so
 * a bit that only some worlds use (dirty logging's cleared W bit, aging's A bit)
 * lives here, made on first use, and costs nothing where it is never made.
 */
export class LeafBits {
  private readonly byRoot = new Map<number, Set<number>>();

  has(root: number, gfn: number): boolean {
    return this.byRoot.get(root)?.has(gfn) ?? false;
  }

  /** Sets the bit of gfn's leaf in root; whether it was clear. */
  add(root: number, gfn: number): boolean {
    let set = this.byRoot.get(root);
    if (set === undefined) {
      set = new Set();
      this.byRoot.set(root, set);
    }
    if (set.has(gfn)) return false;
    set.add(gfn);
    return true;
  }

  /** Clears the bit of gfn's leaf in root (the leaf made writable again, or gone); whether it was set. */
  delete(root: number, gfn: number): boolean {
    return this.byRoot.get(root)?.delete(gfn) ?? false;
  }

  /** Forgets a freed root's leaves. */
  dropRoot(root: number): void {
    this.byRoot.delete(root);
  }
}
